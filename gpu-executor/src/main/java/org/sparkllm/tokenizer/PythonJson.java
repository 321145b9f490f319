package org.sparkllm.tokenizer;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes values the way Python's {@code json.dumps(value, ensure_ascii=False, indent=indent)} does,
 * which is what Hugging Face transformers' chat-template {@code tojson} filter calls. Chat templates
 * put this JSON into prompts (tool definitions), so a different spacing or escaping would change the
 * tokens the model sees compared with Python.
 */
final class PythonJson {
  private PythonJson() {}

  /** indent null: one line with ", " and ": " separators; otherwise one item a line. */
  static String dumps(Object value, Integer indent) {
    StringBuilder out = new StringBuilder();
    write(value, indent, 0, out);
    return out.toString();
  }

  private static void write(Object value, Integer indent, int depth, StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Boolean b) {
      out.append(b ? "true" : "false");
    } else if (value instanceof Double || value instanceof Float) {
      out.append(pythonFloat(((Number) value).doubleValue()));
    } else if (value instanceof Number n) {
      out.append(n);
    } else if (value instanceof Map<?, ?> map) {
      writeMap(map, indent, depth, out);
    } else if (value instanceof List<?> list) {
      writeContainer('[', ']', list.iterator(), list.isEmpty(), indent, depth, out, (item, o) ->
          write(item, indent, depth + 1, o));
    } else {
      writeString(value.toString(), out);
    }
  }

  private static void writeMap(Map<?, ?> map, Integer indent, int depth, StringBuilder out) {
    writeContainer('{', '}', map.entrySet().iterator(), map.isEmpty(), indent, depth, out,
        (entry, o) -> {
          Map.Entry<?, ?> e = (Map.Entry<?, ?>) entry;
          writeString(String.valueOf(e.getKey()), o);
          o.append(": ");
          write(e.getValue(), indent, depth + 1, o);
        });
  }

  private interface ItemWriter {
    void write(Object item, StringBuilder out);
  }

  private static void writeContainer(char open, char close, Iterator<?> items, boolean empty,
      Integer indent, int depth, StringBuilder out, ItemWriter itemWriter) {
    out.append(open);
    if (empty) {
      out.append(close);
      return;
    }
    boolean first = true;
    while (items.hasNext()) {
      if (!first) {
        out.append(indent == null ? ", " : ",");
      }
      first = false;
      if (indent != null) {
        newline(indent, depth + 1, out);
      }
      itemWriter.write(items.next(), out);
    }
    if (indent != null) {
      newline(indent, depth, out);
    }
    out.append(close);
  }

  private static void newline(int indent, int depth, StringBuilder out) {
    out.append('\n').append(" ".repeat(indent * depth));
  }

  private static void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** Python's float repr: positional from 1e-4 up to 1e16, else d.ddde+XX; always a '.' or 'e'. */
  static String pythonFloat(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal shortest = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    String digits = shortest.unscaledValue().abs().toString();
    int exponent = digits.length() - 1 - shortest.scale(); // position of the first digit
    String sign = d < 0 ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
      String plain = shortest.abs().toPlainString();
      return sign + (plain.contains(".") ? plain : plain + ".0");
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+")
        + String.format("%02d", Math.abs(exponent));
  }
}
