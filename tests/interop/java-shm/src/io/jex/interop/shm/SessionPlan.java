package io.jex.interop.shm;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The interop session plan over any framed transport: the same checks the gRPC clients make
 * (tests/interop/java-grpc), with SessionClosed standing in for the gRPC status.
 */
final class SessionPlan {
  static final String EXCEPTION_TYPE = "System.InvalidOperationException";
  static final int PERMISSION_DENIED = 7;

  /** One session: protocol messages in, protocol messages out. */
  interface Session extends AutoCloseable {
    void send(byte[] message) throws Exception;

    /** Sends a message built in a writer (saves a copy on the hot path). */
    void send(Proto.Writer message) throws Exception;

    /** The next runtime message, or throws CheckFailed after the timeout. */
    Messages.RuntimeMessage receive(long timeoutMillis) throws Exception;

    /** Transport counters for the benchmark line, e.g. how often the reader blocked. */
    default String stats() {
      return "";
    }

    @Override
    void close();
  }

  interface SessionFactory {
    Session open(String name) throws Exception;
  }

  static final class CheckFailed extends Exception {
    private static final long serialVersionUID = 1L;

    CheckFailed(String message) {
      super(message);
    }
  }

  static void check(boolean condition, String what) throws CheckFailed {
    if (!condition) {
      throw new CheckFailed(what);
    }
  }

  private static final long TIMEOUT_MS = 30_000;
  private final SessionFactory sessions;
  private final String token;

  SessionPlan(SessionFactory sessions, String token) {
    this.sessions = sessions;
    this.token = token;
  }

  Messages.InitFields init(String function) {
    Messages.InitFields f = new Messages.InitFields();
    f.token = token;
    f.function = function;
    return f;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  Messages.Ready awaitReady(Session s, String name, String function) throws Exception {
    while (true) {
      Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
      switch (m.kind()) {
        case READY -> {
          Messages.Ready r = (Messages.Ready) m.body();
          check(r.functionName().equals(function),
              name + ": Ready names function '" + r.functionName() + "', expected '" + function + "'");
          check(r.pid() > 0, name + ": Ready has no pid");
          return r;
        }
        case LOG -> { }
        default -> throw new CheckFailed(name + ": expected Ready, got " + m);
      }
    }
  }

  /** Drain, then Drained with the session's totals, then SessionClosed OK. */
  void drain(Session s, String name, long batches, long items) throws Exception {
    s.send(Messages.drain());
    boolean drained = false;
    while (true) {
      Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
      switch (m.kind()) {
        case DRAINED -> {
          Messages.Drained d = (Messages.Drained) m.body();
          check(!drained, name + ": two Drained messages");
          check(d.batches() == batches && d.items() == items,
              name + ": Drained says " + d.batches() + " batches/" + d.items() + " items, sent "
                  + batches + "/" + items);
          drained = true;
        }
        case CLOSED -> {
          Messages.Closed c = (Messages.Closed) m.body();
          check(drained, name + ": session closed without Drained: " + c);
          check(c.code() == 0, name + ": session closed with " + c);
          return;
        }
        case LOG -> { }
        default -> throw new CheckFailed(name + ": after Drain got " + m);
      }
    }
  }

  /** A wrong token ends the session with SessionClosed(PERMISSION_DENIED); no user code runs. */
  void wrongTokenIsRefused() throws Exception {
    String name = "wrong-token";
    try (Session s = sessions.open(name)) {
      Messages.InitFields f = init("throwOnDemand");
      f.token = token + "-wrong";
      s.send(Messages.init(f));
      s.send(Messages.batch(1, 0, List.of(new Messages.Item(utf8("k"), utf8("v"), 0, 0, 0))));
      while (true) {
        Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
        check(m.kind() != Messages.Kind.READY && m.kind() != Messages.Kind.RESULT,
            name + ": runtime answered " + m.kind() + " to a wrong token");
        if (m.kind() == Messages.Kind.CLOSED) {
          Messages.Closed c = (Messages.Closed) m.body();
          check(c.code() == PERMISSION_DENIED, name + ": expected PERMISSION_DENIED (7), got " + c);
          return;
        }
      }
    }
  }

  static String itemValue(int i) {
    return (i % 37 == 0 ? "throw " : "item ") + i; // every 37th item throws in user code
  }

  int throwOnDemandSession(int total, int batchSize, int inFlight) throws Exception {
    String fn = "throwOnDemand";
    try (Session s = sessions.open(fn)) {
      Messages.InitFields f = init(fn);
      f.maxInFlight = inFlight;
      s.send(Messages.init(f));
      awaitReady(s, fn, fn);
      int batches = (total + batchSize - 1) / batchSize;
      Map<Long, Messages.BatchResult> results = new HashMap<>();
      int sent = 0;
      int outstanding = 0;
      int maxOutstanding = 0;
      while (results.size() < batches) {
        while (outstanding < inFlight && sent < batches) {
          List<Messages.Item> items = new ArrayList<>();
          for (int i = sent * batchSize; i < Math.min(total, (sent + 1) * batchSize); i++) {
            items.add(new Messages.Item(utf8("k" + i), utf8(itemValue(i)), 1_700_000_000_000L + i, i % 271, i));
          }
          s.send(Messages.batch(sent + 1L, 60_000, items));
          sent++;
          outstanding++;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
        }
        Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
        switch (m.kind()) {
          case RESULT -> {
            Messages.BatchResult r = (Messages.BatchResult) m.body();
            check(r.batchId() >= 1 && r.batchId() <= sent, fn + ": result for unknown batch " + r.batchId());
            check(results.put(r.batchId(), r) == null, fn + ": two results for batch " + r.batchId());
            outstanding--;
          }
          case LOG, SCHEMAS -> { }
          default -> throw new CheckFailed(fn + ": unexpected " + m + " after "
              + results.size() + "/" + batches + " results");
        }
      }
      check(maxOutstanding == Math.min(inFlight, batches), fn + ": never had " + inFlight + " in flight");
      int errors = 0;
      for (long id = 1; id <= batches; id++) {
        Messages.BatchResult r = results.get(id);
        int first = (int) (id - 1) * batchSize;
        int count = Math.min(total, first + batchSize) - first;
        check(r.results().size() == count,
            fn + ": batch " + id + " has " + r.results().size() + " results for " + count + " items");
        for (int j = 0; j < count; j++) {
          int i = first + j;
          Messages.ItemResult ir = r.results().get(j);
          String where = fn + ": item " + i + " (batch " + id + " #" + j + ")";
          if (itemValue(i).startsWith("throw")) {
            check(!ir.ok(), where + ": expected an ItemError, got ok");
            check(ir.errorCode() == Messages.CODE_USER_EXCEPTION, where + ": error code " + ir.errorCode());
            check(EXCEPTION_TYPE.equals(ir.errorType()),
                where + ": exception type '" + ir.errorType() + "', expected " + EXCEPTION_TYPE);
            check(!ir.errorMessage().isEmpty(), where + ": error has no message");
            errors++;
          } else {
            check(ir.ok(), where + ": expected ok, got error " + ir.errorType() + ": " + ir.errorMessage());
            check(ir.outputs().size() == 1, where + ": " + ir.outputs().size() + " outputs, expected 1");
            Messages.Output o = ir.outputs().get(0);
            String v = new String(o.value(), StandardCharsets.UTF_8);
            String k = new String(o.key(), StandardCharsets.UTF_8);
            check(v.equals(itemValue(i)), where + ": value '" + v + "', expected '" + itemValue(i) + "'");
            check(k.equals("k" + i), where + ": key '" + k + "', expected 'k" + i + "'");
          }
        }
      }
      check(errors == (total + 36) / 37, fn + ": " + errors + " errors checked");
      drain(s, fn, batches, total);
      return total;
    }
  }

  int logSession() throws Exception {
    String fn = "logAndEcho";
    try (Session s = sessions.open(fn)) {
      s.send(Messages.init(init(fn)));
      awaitReady(s, fn, fn);
      long batchId = 7;
      List<String> values = List.of("alpha", "beta", "gamma");
      List<Messages.Item> items = new ArrayList<>();
      for (String v : values) {
        items.add(new Messages.Item(utf8("key-" + v), utf8(v), 0, 0, 0));
      }
      s.send(Messages.batch(batchId, 0, items));
      List<Messages.Log> logs = new ArrayList<>();
      Messages.BatchResult result = null;
      while (result == null) {
        Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
        switch (m.kind()) {
          case LOG -> logs.add((Messages.Log) m.body());
          case RESULT -> result = (Messages.BatchResult) m.body();
          case SCHEMAS -> { }
          default -> throw new CheckFailed(fn + ": unexpected " + m);
        }
      }
      check(result.batchId() == batchId, fn + ": result for batch " + result.batchId());
      check(result.results().size() == values.size(), fn + ": " + result.results().size() + " results");
      for (int j = 0; j < values.size(); j++) {
        Messages.ItemResult ir = result.results().get(j);
        check(ir.ok() && ir.outputs().size() == 1
                && new String(ir.outputs().get(0).value(), StandardCharsets.UTF_8).equals(values.get(j)),
            fn + ": item " + j + " not echoed");
      }
      List<Messages.Log> user = new ArrayList<>();
      for (Messages.Log l : logs) {
        if (l.batchId() == batchId) {
          user.add(l);
        }
      }
      check(user.size() >= values.size(), fn + ": " + user.size() + " log lines with batch id " + batchId
          + " before its result, expected " + values.size() + " (all logs: " + logs + ")");
      for (Messages.Log l : user) {
        check(l.level() == Messages.LOG_LEVEL_INFORMATION, fn + ": log level " + l.level());
        check(!l.message().isEmpty() && !l.category().isEmpty(), fn + ": log without message or category");
      }
      for (String v : values) {
        check(user.stream().anyMatch(l -> l.message().contains(v)),
            fn + ": no forwarded log line mentions '" + v + "': " + user);
      }
      drain(s, fn, 1, values.size());
      return values.size();
    }
  }

  private static long cpuNanos() {
    return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos()).orElse(0L);
  }

  /** Transport counters of the last identityThroughput session. */
  String lastStats = "";

  /** identity over 64-byte values, 256 per batch: the throughput figure for the report. */
  long[] identityThroughput(int batches, int inFlight) throws Exception {
    String fn = "identity";
    final int perBatch = 256;
    try (Session s = sessions.open(fn)) {
      Messages.InitFields f = init(fn);
      f.keyFormat = Messages.FORMAT_BYTES;
      f.valueFormat = Messages.FORMAT_BYTES;
      f.maxInFlight = inFlight;
      s.send(Messages.init(f));
      awaitReady(s, fn, fn);
      byte[] value = new byte[64];
      byte[] key = new byte[0];
      List<Messages.Item> items = new ArrayList<>();
      for (int i = 0; i < perBatch; i++) {
        items.add(new Messages.Item(key, value, 0, 0, 0));
      }
      int sent = 0;
      int done = 0;
      int outstanding = 0;
      long start = 0;
      long cpuStart = 0;
      int warmup = Math.min(200, batches / 5);
      while (done < batches) {
        while (outstanding < inFlight && sent < batches) {
          // Each batch's first value bytes carry its id so a mixed-up result is caught.
          value[0] = (byte) sent;
          value[1] = (byte) (sent >>> 8);
          s.send(Messages.batch(sent + 1L, 0, items));
          sent++;
          outstanding++;
        }
        Messages.RuntimeMessage m = s.receive(TIMEOUT_MS);
        if (m.kind() == Messages.Kind.RESULT) {
          Messages.BatchResult r = (Messages.BatchResult) m.body();
          check(r.results().size() == perBatch, fn + ": batch " + r.batchId() + " has " + r.results().size());
          Messages.ItemResult last = r.results().get(perBatch - 1);
          long id = r.batchId() - 1;
          check(last.ok() && last.outputs().size() == 1 && last.outputs().get(0).value().length == 64
                  && last.outputs().get(0).value()[0] == (byte) id
                  && last.outputs().get(0).value()[1] == (byte) (id >>> 8),
              fn + ": batch " + r.batchId() + " did not echo its values");
          outstanding--;
          done++;
          if (done == warmup) {
            start = System.nanoTime();
            cpuStart = cpuNanos();
          }
        } else {
          check(m.kind() == Messages.Kind.LOG, fn + ": unexpected " + m);
        }
      }
      long elapsed = System.nanoTime() - start;
      long measured = (long) (batches - warmup) * perBatch;
      lastStats = s.stats() + String.format(", client CPU incl. spinning %.0f ns/item", (cpuNanos() - cpuStart) / (double) measured);
      drain(s, fn, batches, (long) batches * perBatch);
      return new long[] {(long) (batches - warmup) * perBatch, elapsed};
    }
  }
}
