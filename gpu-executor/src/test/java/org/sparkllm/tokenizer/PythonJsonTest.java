package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expected strings are Python's json.dumps(..., ensure_ascii=False) / repr(float) output. */
class PythonJsonTest {

  @Test
  void floatsLookLikePythonRepr() {
    assertEquals("0.0001", PythonJson.pythonFloat(0.0001));
    assertEquals("1e-05", PythonJson.pythonFloat(1e-5));
    assertEquals("1e+16", PythonJson.pythonFloat(1e16));
    assertEquals("1000000000000000.0", PythonJson.pythonFloat(1e15));
    assertEquals("1.5e-07", PythonJson.pythonFloat(1.5e-7));
    assertEquals("123.456", PythonJson.pythonFloat(123.456));
    assertEquals("-2.5e+20", PythonJson.pythonFloat(-2.5e20));
    assertEquals("-0.0", PythonJson.pythonFloat(-0.0));
  }

  @Test
  void stringsEscapeOnlyWhatPythonEscapes() {
    assertEquals("\"tab\\t \\\"q\\\" \\\\ \\u0001 é 😀 </script>\"",
        PythonJson.dumps("tab\t \"q\" \\ \u0001 é 😀 </script>", null));
  }

  @Test
  void nestedContainersWithIndentKeepKeyOrder() {
    Map<String, Object> value = new LinkedHashMap<>();
    value.put("z", List.of(1L, Map.of()));
    value.put("a", null);
    assertEquals("{\"z\": [1, {}], \"a\": null}", PythonJson.dumps(value, null));
    assertEquals("{\n    \"z\": [\n        1,\n        {}\n    ],\n    \"a\": null\n}",
        PythonJson.dumps(value, 4));
  }
}
