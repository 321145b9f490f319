package org.sparkllm.tokenizer;

/** One message of a chat: role is "system", "user" or "assistant". */
public record ChatMessage(String role, String content) {}
