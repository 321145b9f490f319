package org.sparkllm.bench.gpu;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Finds a libcublas shared library without asking the dynamic loader's path, since a GPU host often has it only
 * in a CUDA toolkit directory or inside PyTorch's pip packages (nvidia/cublas/lib, nvidia/cu13/lib). The order:
 * the file named by SPARKLLM_CUBLAS, the toolkit directories, the system library directory, then Python
 * site-packages.
 */
final class CublasLibrary {
  static final String ENVIRONMENT_VARIABLE = "SPARKLLM_CUBLAS";

  /** @param library the libcublas file, or null; @param ltLibrary libcublasLt beside it, or null */
  record Located(Path library, Path ltLibrary, String reason) {}

  private CublasLibrary() {}

  static Located locate() {
    String named = System.getenv(ENVIRONMENT_VARIABLE);
    if (named != null && !named.isBlank()) {
      Path path = Path.of(named);
      return Files.isRegularFile(path)
          ? new Located(path, ltBeside(path).orElse(null), ENVIRONMENT_VARIABLE + "=" + named)
          : new Located(null, null, ENVIRONMENT_VARIABLE + "=" + named + " is not a file");
    }
    List<String> directories = searchedDirectories();
    for (String pattern : directories) {
      for (Path directory : expand(pattern)) {
        Optional<Path> library = firstMatch(directory, "libcublas.so*");
        if (library.isPresent()) {
          return new Located(library.get(), ltBeside(library.get()).orElse(null), "found in " + directory);
        }
      }
    }
    return new Located(null, null, "no libcublas.so* in " + String.join(", ", directories) + "; set "
        + ENVIRONMENT_VARIABLE + " to its path");
  }

  private static List<String> searchedDirectories() {
    List<String> directories = new ArrayList<>(List.of(
        "/usr/local/cuda/lib64", "/usr/local/cuda-*/lib64", "/usr/lib/x86_64-linux-gnu"));
    List<String> pythonRoots = new ArrayList<>(List.of("/usr/lib", "/usr/local/lib"));
    pythonRoots.add(System.getProperty("user.home") + "/.local/lib");
    for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
      String prefix = System.getenv(variable);
      if (prefix != null && !prefix.isBlank()) {
        pythonRoots.add(prefix + "/lib");
      }
    }
    for (String root : pythonRoots) {
      // Debian's system Python installs into dist-packages, pip's default layout is site-packages.
      directories.add(root + "/python3*/site-packages/nvidia/*/lib");
      directories.add(root + "/python3*/dist-packages/nvidia/*/lib");
    }
    return directories;
  }

  /** libcublas needs libcublasLt; loading it first from the same directory satisfies that by soname. */
  private static Optional<Path> ltBeside(Path library) {
    return library.getParent() == null ? Optional.empty() : firstMatch(library.getParent(), "libcublasLt.so*");
  }

  /** The shortest matching name (libcublas.so before libcublas.so.13.0.1.2: any of them is the same library). */
  private static Optional<Path> firstMatch(Path directory, String glob) {
    if (!Files.isDirectory(directory)) {
      return Optional.empty();
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory, glob)) {
      List<Path> matches = new ArrayList<>();
      entries.forEach(p -> {
        if (Files.isRegularFile(p)) {
          matches.add(p);
        }
      });
      return matches.stream().min(Comparator.comparing((Path p) -> p.getFileName().toString().length())
          .thenComparing(Path::toString));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The directories a path pattern with '*' in some of its segments names, newest (greatest) name first. */
  static List<Path> expand(String pattern) {
    List<Path> current = List.of(Path.of("/"));
    for (String segment : pattern.split("/")) {
      if (segment.isEmpty()) {
        continue;
      }
      List<Path> next = new ArrayList<>();
      for (Path base : current) {
        if (!segment.contains("*")) {
          next.add(base.resolve(segment));
          continue;
        }
        if (!Files.isDirectory(base)) {
          continue;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(base, segment)) {
          List<Path> matched = new ArrayList<>();
          entries.forEach(matched::add);
          matched.sort(Comparator.comparing(Path::toString).reversed());
          next.addAll(matched);
        } catch (IOException e) {
          // An unreadable directory is one where the library is not.
        }
      }
      current = next;
    }
    return current.stream().filter(Files::isDirectory).toList();
  }
}
