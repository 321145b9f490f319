package org.sparkllm.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.Map;

/**
 * The chat templates' {@code tojson} filter, with transformers' semantics (Python json.dumps, no HTML
 * escaping, key order kept) rather than jinja2's or jinjava's own, so tool definitions render the
 * same as in Python. Arguments follow transformers' signature {@code tojson(x, ensure_ascii=False,
 * indent=None, ...)}: indent by keyword or as the second argument; only ensure_ascii=False (its
 * default, the one chat templates use) is supported.
 */
final class ToJsonFilter implements Filter {

  @Override
  public String getName() {
    return "tojson";
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
      Map<String, Object> kwargs) {
    Object indent = kwargs.containsKey("indent") ? kwargs.get("indent")
        : (args.length > 1 ? args[1] : null);
    return PythonJson.dumps(var, indent == null ? null : toIndent(indent));
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
    return filter(var, interpreter, args, Map.of());
  }

  private static int toIndent(Object indent) {
    if (indent instanceof Number n) {
      return n.intValue();
    }
    return Integer.parseInt(indent.toString().trim());
  }
}
