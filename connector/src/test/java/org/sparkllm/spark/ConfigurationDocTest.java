package org.sparkllm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.sparkllm.spark.source.SourceOptions;

/** docs/configuration.md names exactly the options and settings the code accepts. */
class ConfigurationDocTest {
  private static final Pattern ROW_NAME = Pattern.compile("^\\| `([a-zA-Z_.]+)` \\|", Pattern.MULTILINE);

  @Test
  void everyOptionAndSettingIsDocumentedAndNothingElse() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
    Set<String> documented = new TreeSet<>();
    Matcher m = ROW_NAME.matcher(doc);
    while (m.find()) {
      documented.add(m.group(1));
    }
    Set<String> inCode = new TreeSet<>(LlmOptions.OPTIONS.keySet());
    LlmOptions.ENGINE_SETTINGS.keySet().forEach(k -> inCode.add(LlmOptions.CONF_PREFIX + k));
    inCode.addAll(SourceOptions.SOURCE_OPTIONS.keySet());
    assertEquals(inCode, documented);
  }
}
