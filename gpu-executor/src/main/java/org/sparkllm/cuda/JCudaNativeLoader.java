package org.sparkllm.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import jcuda.driver.JCudaDriver;

/**
 * Loads JCuda's JNI library (libJCudaDriver) safely when several executors start on one node at once.
 *
 * <p>JCudaDriver's static initialiser calls {@code LibUtils.loadLibrary}: first
 * {@code System.loadLibrary} (java.library.path, where the GPU bundle pre-extracts it), and failing
 * that it copies {@code /lib/<name>} from the jcuda-natives jar to {@code java.io.tmpdir/<name>},
 * but only if that file does not exist yet, with no locking, then loads it. Two processes can thus load
 * a half-written file. We pre-place that exact file ourselves: write it to a unique temporary name in
 * the same directory and atomically rename it over the fixed name, unless the file already has the
 * right content. JCuda then finds a complete file and loads it, never writing one.
 */
public final class JCudaNativeLoader {
  private static final String LIBRARY = "libJCudaDriver-12.6.0-linux-x86_64.so";
  private static final String RESOURCE = "/lib/" + LIBRARY;

  private static boolean loaded;

  private JCudaNativeLoader() {}

  /** Loads libJCudaDriver once per class loader; JCuda's own exceptions stay off (we check results). */
  public static synchronized void load() {
    if (loaded) {
      return;
    }
    if (!onLibraryPath()) {
      placeAtomically(Paths.get(System.getProperty("java.io.tmpdir"), LIBRARY));
    }
    JCudaDriver.setExceptionsEnabled(false); // triggers JCudaDriver's static initialiser
    loaded = true;
  }

  private static boolean onLibraryPath() {
    for (String dir : System.getProperty("java.library.path", "").split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isRegularFile(Paths.get(dir, LIBRARY))) {
        return true;
      }
    }
    return false;
  }

  static void placeAtomically(Path target) {
    try {
      byte[] library = readResource();
      if (Files.isRegularFile(target) && Arrays.equals(sha256(Files.readAllBytes(target)), sha256(library))) {
        return;
      }
      Files.createDirectories(target.getParent());
      Path partial = Files.createTempFile(target.getParent(), LIBRARY + ".", ".partial");
      try {
        Files.write(partial, library);
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(partial);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot place " + LIBRARY + " at " + target, e);
    }
  }

  private static byte[] readResource() throws IOException {
    try (InputStream in = JCudaDriver.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IOException(RESOURCE + " is not on the class path (jcuda-natives linux-x86_64 missing)");
      }
      return in.readAllBytes();
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
