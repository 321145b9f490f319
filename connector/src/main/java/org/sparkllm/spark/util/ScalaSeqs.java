package org.sparkllm.spark.util;

import java.util.ArrayList;
import java.util.List;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/** Conversions between Java lists and the Scala sequences that Catalyst's API takes and returns. */
public final class ScalaSeqs {
  private ScalaSeqs() {}

  public static <T> Seq<T> seq(List<? extends T> items) {
    List<T> copy = new ArrayList<>(items);
    return CollectionConverters.asScala(copy).toList();
  }

  @SafeVarargs
  public static <T> Seq<T> seq(T... items) {
    return seq(List.of(items));
  }

  public static <T> List<T> list(scala.collection.Seq<? extends T> items) {
    return new ArrayList<>(CollectionConverters.asJava(items));
  }

  public static <T> Seq<T> concat(scala.collection.Seq<? extends T> first, scala.collection.Seq<? extends T> second) {
    List<T> all = list(first);
    all.addAll(list(second));
    return seq(all);
  }
}
