package io.jex.interop.shm;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The interop session plan over the shared-memory transport, JDK only. Prints one line,
 * {@code ok (<n> items)} with the identity throughput on stderr, or {@code FAILED <reason>}.
 *
 * <p>Usage: {@code ShmInteropClient --address /dev/shm/jex-UID [--token T] [--items N]
 * [--batch N] [--in-flight N] [--bench-batches N] [--only plan|bench]}
 */
public final class ShmInteropClient {
  private ShmInteropClient() {}

  /** A SessionPlan.Session over one attached channel. */
  static final class ShmSession implements SessionPlan.Session {
    final ShmChannel channel;

    ShmSession(Path path) throws Exception {
      channel = ShmChannel.open(path);
    }

    @Override
    public void send(byte[] message) throws Exception {
      channel.send(message);
    }

    @Override
    public void send(Proto.Writer message) throws Exception {
      channel.send(message);
    }

    @Override
    public Messages.RuntimeMessage receive(long timeoutMillis) throws Exception {
      byte[] m = channel.receive(timeoutMillis);
      return Messages.decode(m, 0, m.length);
    }

    @Override
    public void close() {
      channel.close();
    }
  }

  public static void main(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    String address = opts.get("address");
    String token = opts.getOrDefault("token", System.getenv("JEX_TOKEN"));
    if (address == null || token == null || token.isEmpty()) {
      System.out.println("FAILED usage: --address /dev/shm/jex-UID and --token T (or JEX_TOKEN)");
      System.exit(2);
    }
    int items = Integer.parseInt(opts.getOrDefault("items", "10000"));
    int batch = Integer.parseInt(opts.getOrDefault("batch", "250"));
    int inFlight = Integer.parseInt(opts.getOrDefault("in-flight", "4"));
    int benchBatches = Integer.parseInt(opts.getOrDefault("bench-batches", "4000"));
    String only = opts.getOrDefault("only", "all");
    Path path = Path.of(address);
    SessionPlan plan = new SessionPlan(name -> new ShmSession(path), token);
    int code = 1;
    try {
      long checked = 0;
      if (!only.equals("bench")) {
        plan.wrongTokenIsRefused();
        checked += plan.throwOnDemandSession(items, batch, inFlight);
        checked += plan.logSession();
      }
      if (!only.equals("plan")) {
        long[] r = plan.identityThroughput(benchBatches, 8);
        double seconds = r[1] / 1e9;
        System.err.printf(
            "java-shm identity 256x64 B: %d items in %.3f s = %.0f items/s (%.0f batches/s)%n",
            r[0], seconds, r[0] / seconds, r[0] / 256 / seconds);
        checked += benchBatches * 256L;
      }
      System.out.println("ok (" + checked + " items)");
      code = 0;
    } catch (SessionPlan.CheckFailed e) {
      System.out.println("FAILED " + e.getMessage());
    } catch (Exception e) {
      System.out.println("FAILED " + e);
      e.printStackTrace(System.err);
    }
    System.exit(code);
  }
}
