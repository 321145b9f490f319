package org.sparkllm.model;

/**
 * RoPE base frequency and scaling from config.json, in either of the two forms Hugging Face writes:
 * transformers 4 ({@code rope_theta} + {@code rope_scaling}) or transformers 5 ({@code
 * rope_parameters}, which holds the theta as well).
 *
 * @param scaling null for plain RoPE
 */
record RopeSettings(double theta, RopeScaling scaling) {
  private static final double MAX_THETA = 1e12;
  private static final double MAX_FACTOR = 1e6;

  static RopeSettings read(JsonConfigFile json, double defaultTheta) {
    double topLevelTheta = theta(json, defaultTheta);
    JsonConfigFile parameters = json.optionalObject("rope_parameters");
    if (parameters != null) {
      return new RopeSettings(theta(parameters, topLevelTheta), scaling(parameters));
    }
    JsonConfigFile legacy = json.optionalObject("rope_scaling");
    return new RopeSettings(topLevelTheta, legacy == null ? null : scaling(legacy));
  }

  private static double theta(JsonConfigFile json, double absent) {
    return json.has("rope_theta") ? json.requiredDouble("rope_theta", 0.0, MAX_THETA) : absent;
  }

  private static RopeScaling scaling(JsonConfigFile rope) {
    // Older configs name the key "type"; transformers accepts both.
    String typeKey = rope.has("rope_type") ? "rope_type" : "type";
    String type = rope.optionalString(typeKey);
    if (type == null || type.equals("default")) {
      return null;
    }
    if (!type.equals("llama3")) {
      throw rope.invalid(typeKey, "is not supported (expected \"default\" or \"llama3\")");
    }
    double factor = rope.requiredDouble("factor", 0.0, MAX_FACTOR);
    double low = rope.requiredDouble("low_freq_factor", 0.0, MAX_FACTOR);
    double high = rope.requiredDouble("high_freq_factor", 0.0, MAX_FACTOR);
    if (!(high > low)) {
      // The llama3 formula interpolates over (high - low); equal factors would divide by zero.
      throw rope.invalid("high_freq_factor", "must be greater than low_freq_factor = " + low);
    }
    int originalMax =
        rope.requiredInt("original_max_position_embeddings", 1, LlamaConfigReader.MAX_POSITIONS);
    return new RopeScaling(factor, low, high, originalMax);
  }
}
