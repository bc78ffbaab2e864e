package io.jex.interop.shm;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The interop session plan over the shared-memory transport, JDK only. Prints one line,
 * {@code ok (<n> items)} with the identity throughput on stderr, or {@code FAILED <reason>}.
 *
 * <p>Usage: {@code ShmInteropClient --address /dev/shm/jex-UID [--token T] [--items N]
 * [--batch N] [--in-flight N] [--bench-batches N] [--sessions wrong-token,throw,log,bench]};
 * --address may list one path per session, comma-separated.
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
    public String stats() {
      return channel.blockedReads + " blocking FIFO reads";
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
    // Which sessions to run, in order; run.sh may give each its own runtime (and so address).
    String[] sessions = opts.getOrDefault("sessions", "wrong-token,throw,log,bench").split(",");
    String[] addresses = address.split(",");
    if (addresses.length != 1 && addresses.length != sessions.length) {
      System.out.println("FAILED --address: one path, or one per session (" + sessions.length + ")");
      System.exit(2);
    }
    int code = 1;
    try {
      long checked = 0;
      for (int i = 0; i < sessions.length; i++) {
        Path path = Path.of(addresses[addresses.length == 1 ? 0 : i]);
        SessionPlan plan = new SessionPlan(name -> new ShmSession(path), token);
        switch (sessions[i]) {
          case "wrong-token" -> plan.wrongTokenIsRefused();
          case "throw" -> checked += plan.throwOnDemandSession(items, batch, inFlight);
          case "log" -> checked += plan.logSession();
          case "bench" -> {
            long[] r = plan.identityThroughput(benchBatches, 8);
            double seconds = r[1] / 1e9;
            System.err.printf(
                "java-shm identity 256x64 B: %d items in %.3f s = %.0f items/s (%.0f batches/s, "
                    + "8 in flight, %s)%n",
                r[0], seconds, r[0] / seconds, r[0] / 256 / seconds, plan.lastStats);
            checked += benchBatches * 256L;
          }
          default -> throw new IllegalArgumentException("unknown session " + sessions[i]);
        }
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
