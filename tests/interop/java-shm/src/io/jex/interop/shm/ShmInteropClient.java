package io.jex.interop.shm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The interop session plan over the shared-memory transport (layout version 2), JDK only, all
 * sessions one after another against ONE runtime. Prints one line, {@code ok (...)} with the
 * identity throughput on stderr, or {@code FAILED <reason>}.
 *
 * <p>Before the sessions it checks the slot table: it fills every slot with an idle member, checks
 * that one more claim is refused naming the file and UserCode:SharedMemory:Sessions, then releases
 * all but the one in slot 0. The sessions then share the remaining slots, so (with 2 slots) every
 * session reuses slot 1 after the runtime recycled it; each claim checks that the slot it got is
 * blank (member block and ring counters zero). Finally it releases slot 0, which the runtime must
 * recycle although that member never sent a message.
 *
 * <p>Usage: {@code ShmInteropClient --address /dev/shm/jex-UID [--token T] [--items N]
 * [--batch N] [--in-flight N] [--bench-batches N] [--sessions wrong-token,throw,log,bench]}.
 */
public final class ShmInteropClient {
  private ShmInteropClient() {}

  /** How long a session waits for a slot the runtime has not recycled yet (it checks every 250 ms). */
  static final long CLAIM_TIMEOUT_MS = 10_000;

  /** A SessionPlan.Session over one claimed slot. */
  static final class ShmSession implements SessionPlan.Session {
    final ShmChannel channel;

    ShmSession(Path path, List<Integer> slots) throws Exception {
      channel = ShmChannel.open(path, CLAIM_TIMEOUT_MS);
      slots.add(channel.slot());
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

  /**
   * Fills every slot, checks that one more claim is refused, and releases all but slot 0's holder,
   * which it returns (the caller closes it after the sessions).
   */
  static ShmChannel fillSlotsThenKeepSlotZero(Path path) throws Exception {
    List<ShmChannel> held = new ArrayList<>();
    try {
      held.add(ShmChannel.open(path, CLAIM_TIMEOUT_MS));
      int n = held.get(0).slotCount();
      SessionPlan.check(n >= 2, path + ": the slot checks need at least 2 slots, the file has " + n);
      while (held.size() < n) {
        held.add(ShmChannel.open(path, CLAIM_TIMEOUT_MS));
      }
      for (int i = 0; i < n; i++) {
        SessionPlan.check(held.get(i).slot() == i,
            "claim " + i + " got slot " + held.get(i).slot() + ": slots must be claimed in order 0..N-1");
      }
      try (ShmChannel extra = ShmChannel.open(path, 0)) {
        throw new SessionPlan.CheckFailed("a claim with all " + n + " slots held got slot " + extra.slot());
      } catch (ShmChannel.ChannelException e) {
        SessionPlan.check(e.getMessage().contains("all " + n + " session slot(s) are taken")
                && e.getMessage().contains("UserCode:SharedMemory:Sessions"),
            "the refused claim's error does not say why: " + e.getMessage());
      }
      ShmChannel zero = held.remove(0);
      for (ShmChannel c : held) {
        c.close();
      }
      held.clear();
      return zero;
    } finally {
      for (ShmChannel c : held) {
        c.close();
      }
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
    String[] sessions = opts.getOrDefault("sessions", "wrong-token,throw,log,bench").split(",");
    Path path = Path.of(address);
    List<Integer> slots = new ArrayList<>();
    int code = 1;
    try {
      long checked = 0;
      int slotCount;
      try (ShmChannel zero = fillSlotsThenKeepSlotZero(path)) {
        slotCount = zero.slotCount();
        for (String session : sessions) {
          SessionPlan plan = new SessionPlan(name -> new ShmSession(path, slots), token);
          int before = slots.size();
          switch (session) {
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
            default -> throw new IllegalArgumentException("unknown session " + session);
          }
          SessionPlan.check(slots.size() > before, session + ": opened no slot");
          for (int i = before; i < slots.size(); i++) {
            SessionPlan.check(slots.get(i) != 0, session + ": got slot 0, which another member holds");
          }
        }
      }
      // With slot 0 held, the sessions had N-1 slots: more sessions than that reused a slot.
      Set<Integer> distinct = new TreeSet<>(slots);
      SessionPlan.check(slots.size() < slotCount || distinct.size() < slots.size(),
          "no slot was reused: slots " + slots);
      // Slot 0's idle holder has just closed: the runtime must recycle it too (it never spoke), so
      // every slot can be claimed again.
      List<ShmChannel> all = new ArrayList<>();
      try {
        for (int i = 0; i < slotCount; i++) {
          all.add(ShmChannel.open(path, CLAIM_TIMEOUT_MS));
          slots.add(all.get(i).slot());
        }
      } finally {
        for (ShmChannel c : all) {
          c.close();
        }
      }
      System.out.println("ok (" + checked + " items; " + slots.size() + " sessions, one runtime, slots "
          + slots + " of " + slotCount + ")");
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
