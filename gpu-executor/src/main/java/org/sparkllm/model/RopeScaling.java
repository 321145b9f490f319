package org.sparkllm.model;

/**
 * Llama 3 frequency-dependent RoPE scaling ({@code rope_scaling.rope_type == "llama3"} in config.json):
 * low frequencies are divided by {@code factor}, high frequencies kept, the band between interpolated.
 */
public record RopeScaling(
    double factor,
    double lowFreqFactor,
    double highFreqFactor,
    int originalMaxPositionEmbeddings) {}
