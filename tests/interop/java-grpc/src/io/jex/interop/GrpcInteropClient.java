package io.jex.interop;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.jex.protocol.v1.Batch;
import io.jex.protocol.v1.BatchResult;
import io.jex.protocol.v1.Drain;
import io.jex.protocol.v1.Format;
import io.jex.protocol.v1.Init;
import io.jex.protocol.v1.Item;
import io.jex.protocol.v1.ItemError;
import io.jex.protocol.v1.ItemResult;
import io.jex.protocol.v1.Log;
import io.jex.protocol.v1.LogLevel;
import io.jex.protocol.v1.MemberMessage;
import io.jex.protocol.v1.Output;
import io.jex.protocol.v1.RuntimeMessage;
import io.jex.protocol.v1.UserCodeGrpc;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Jet member's side of Jex sessions, on grpc-java 1.41 (netty, plaintext HTTP/2 with prior
 * knowledge). Runs the interop session plan against a real jex-runtime and prints one line,
 * {@code ok (<n> items)}, or exits 1 with {@code FAILED <reason>}.
 *
 * <p>Usage: {@code GrpcInteropClient --address http://127.0.0.1:PORT [--token T] [--items N]
 * [--batch N] [--in-flight N]}; the token defaults to the environment variable JEX_TOKEN.
 */
public final class GrpcInteropClient {
  private static final long POLL_SECONDS = 30;
  private static final String EXCEPTION_TYPE = "System.InvalidOperationException";

  private final ManagedChannel channel;
  private final String token;

  private GrpcInteropClient(ManagedChannel channel, String token) {
    this.channel = channel;
    this.token = token;
  }

  /** A failed check: its message is the reason printed after FAILED. */
  static final class CheckFailed extends Exception {
    CheckFailed(String message) {
      super(message);
    }
  }

  static void check(boolean condition, String what) throws CheckFailed {
    if (!condition) {
      throw new CheckFailed(what);
    }
  }

  public static void main(String[] args) {
    Map<String, String> opts = parseArgs(args);
    String address = opts.get("address");
    String token = opts.getOrDefault("token", System.getenv("JEX_TOKEN"));
    int items = Integer.parseInt(opts.getOrDefault("items", "10000"));
    int batch = Integer.parseInt(opts.getOrDefault("batch", "250"));
    int inFlight = Integer.parseInt(opts.getOrDefault("in-flight", "4"));
    if (address == null || token == null || token.isEmpty()) {
      System.out.println("FAILED usage: --address http://HOST:PORT and --token T (or JEX_TOKEN)");
      System.exit(2);
    }
    URI uri = URI.create(address);
    if (!"http".equals(uri.getScheme()) || uri.getPort() <= 0) {
      System.out.println("FAILED address must be http://HOST:PORT, got " + address);
      System.exit(2);
    }
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort())
            .usePlaintext()
            .maxInboundMessageSize(64 * 1024 * 1024)
            .build();
    int code = 1;
    try {
      GrpcInteropClient client = new GrpcInteropClient(channel, token);
      int checked = 0;
      client.wrongTokenIsRefused();
      checked += client.throwOnDemandSession(items, batch, inFlight);
      checked += client.logSession();
      checked += client.jsonSession();
      System.out.println("ok (" + checked + " items)");
      code = 0;
    } catch (CheckFailed e) {
      System.out.println("FAILED " + e.getMessage());
    } catch (Exception e) {
      System.out.println("FAILED " + e);
      e.printStackTrace(System.err);
    } finally {
      channel.shutdownNow();
    }
    System.exit(code);
  }

  private static Map<String, String> parseArgs(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value, got " + args[i]);
      }
      opts.put(args[i].substring(2), args[i + 1]);
    }
    return opts;
  }

  /** One open Transform stream; responses are read on the calling thread through a queue. */
  private final class Session implements AutoCloseable {
    private static final Object END = new Object();
    private final String name;
    private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final StreamObserver<MemberMessage> requests;
    private Status endStatus;

    Session(String name) {
      this.name = name;
      StreamObserver<RuntimeMessage> responses =
          new StreamObserver<>() {
            @Override
            public void onNext(RuntimeMessage value) {
              inbox.add(value);
            }

            @Override
            public void onError(Throwable t) {
              inbox.add(t);
            }

            @Override
            public void onCompleted() {
              inbox.add(END);
            }
          };
      requests = UserCodeGrpc.newStub(channel).transform(responses);
    }

    void send(MemberMessage message) {
      requests.onNext(message);
    }

    /** The next runtime message; null once the stream has ended (see {@link #endStatus}). */
    RuntimeMessage next() throws CheckFailed, InterruptedException {
      if (endStatus != null) {
        return null;
      }
      Object o = inbox.poll(POLL_SECONDS, TimeUnit.SECONDS);
      if (o == null) {
        throw new CheckFailed(name + ": no message from the runtime within " + POLL_SECONDS + "s");
      }
      if (o == END) {
        endStatus = Status.OK;
        return null;
      }
      if (o instanceof Throwable) {
        endStatus = Status.fromThrowable((Throwable) o);
        return null;
      }
      return (RuntimeMessage) o;
    }

    Status endStatus() {
      return endStatus;
    }

    @Override
    public void close() {
      if (endStatus == null) {
        requests.onError(Status.CANCELLED.withDescription("client closing").asRuntimeException());
      }
    }
  }

  private Init.Builder init(String function) {
    return Init.newBuilder()
        .setProtocolVersion(1)
        .setToken(token)
        .setJobId("interop-java-grpc")
        .setJobName("interop")
        .setStageName("java-grpc")
        .setFunction(function)
        .setKeyFormat(Format.FORMAT_TEXT)
        .setValueFormat(Format.FORMAT_TEXT)
        .setLogLevel(LogLevel.LOG_LEVEL_INFORMATION);
  }

  private static MemberMessage wrap(Init init) {
    return MemberMessage.newBuilder().setInit(init).build();
  }

  private static MemberMessage wrap(Batch batch) {
    return MemberMessage.newBuilder().setBatch(batch).build();
  }

  private static ByteString utf8(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  /** Reads until Ready; anything else first (but logs) fails the session. */
  private void awaitReady(Session s, String function) throws Exception {
    while (true) {
      RuntimeMessage m = s.next();
      check(m != null, s.name + ": stream ended before Ready: " + s.endStatus());
      switch (m.getKindCase()) {
        case READY:
          check(
              m.getReady().getSignature().getName().equals(function),
              s.name + ": Ready names function '" + m.getReady().getSignature().getName()
                  + "', expected '" + function + "'");
          check(m.getReady().getPid() > 0, s.name + ": Ready has no pid");
          return;
        case LOG:
          continue;
        default:
          throw new CheckFailed(s.name + ": expected Ready, got " + m.getKindCase());
      }
    }
  }

  /** Sends Drain, expects Drained with the session's totals, then the stream's OK end. */
  private void drain(Session s, long batches, long items) throws Exception {
    s.send(MemberMessage.newBuilder().setDrain(Drain.getDefaultInstance()).build());
    boolean drained = false;
    while (true) {
      RuntimeMessage m = s.next();
      if (m == null) {
        break;
      }
      switch (m.getKindCase()) {
        case DRAINED:
          check(!drained, s.name + ": two Drained messages");
          check(
              m.getDrained().getBatches() == batches && m.getDrained().getItems() == items,
              s.name + ": Drained says " + m.getDrained().getBatches() + " batches/"
                  + m.getDrained().getItems() + " items, sent " + batches + "/" + items);
          drained = true;
          // The member half-closes only after Drained: the protocol ends the session, not EOF.
          s.requests.onCompleted();
          break;
        case LOG:
          break;
        default:
          throw new CheckFailed(s.name + ": after Drain got " + m.getKindCase());
      }
    }
    check(drained, s.name + ": stream ended without Drained");
    check(s.endStatus().isOk(), s.name + ": stream ended with " + s.endStatus());
  }

  /** A wrong token ends the session with PERMISSION_DENIED and no user code runs. */
  private void wrongTokenIsRefused() throws Exception {
    try (Session s = new Session("wrong-token")) {
      s.send(wrap(init("throwOnDemand").setToken(token + "-wrong").build()));
      // Sent without waiting for Ready: it must not be processed either.
      s.send(
          wrap(
              Batch.newBuilder()
                  .setId(1)
                  .addItems(Item.newBuilder().setKey(utf8("k")).setValue(utf8("v")))
                  .build()));
      while (true) {
        RuntimeMessage m = s.next();
        if (m == null) {
          break;
        }
        check(
            m.getKindCase() != RuntimeMessage.KindCase.READY
                && m.getKindCase() != RuntimeMessage.KindCase.RESULT,
            "wrong-token: runtime answered " + m.getKindCase() + " to a wrong token");
      }
      check(
          s.endStatus().getCode() == Status.Code.PERMISSION_DENIED,
          "wrong-token: expected PERMISSION_DENIED, got " + s.endStatus());
    }
  }

  static String itemValue(int i) {
    // Every 37th item (and the very first) is made to throw in user code.
    return (i % 37 == 0 ? "throw " : "item ") + i;
  }

  /**
   * throwOnDemand over {@code total} items in batches of {@code batchSize}, {@code inFlight} at a
   * time. Results may arrive in any batch order; they are checked in batch-id order, and each
   * item in input order.
   */
  private int throwOnDemandSession(int total, int batchSize, int inFlight) throws Exception {
    String fn = "throwOnDemand";
    try (Session s = new Session(fn)) {
      s.send(wrap(init(fn).setMaxInFlight(inFlight).build()));
      awaitReady(s, fn);
      int batches = (total + batchSize - 1) / batchSize;
      Map<Long, BatchResult> results = new HashMap<>();
      int sent = 0;
      int outstanding = 0;
      int maxOutstanding = 0;
      while (results.size() < batches) {
        while (outstanding < inFlight && sent < batches) {
          Batch.Builder b = Batch.newBuilder().setId(sent + 1L).setDeadlineMs(60_000);
          for (int i = sent * batchSize; i < Math.min(total, (sent + 1) * batchSize); i++) {
            b.addItems(
                Item.newBuilder()
                    .setKey(utf8("k" + i))
                    .setValue(utf8(itemValue(i)))
                    .setTimestampMs(1_700_000_000_000L + i)
                    .setPartition(i % 271)
                    .setSequence(i));
          }
          s.send(wrap(b.build()));
          sent++;
          outstanding++;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
        }
        RuntimeMessage m = s.next();
        check(m != null, fn + ": stream ended with " + s.endStatus() + " after "
            + results.size() + "/" + batches + " results");
        switch (m.getKindCase()) {
          case RESULT:
            BatchResult r = m.getResult();
            check(r.getBatchId() >= 1 && r.getBatchId() <= sent,
                fn + ": result for unknown batch " + r.getBatchId());
            check(results.put(r.getBatchId(), r) == null,
                fn + ": two results for batch " + r.getBatchId());
            outstanding--;
            break;
          case LOG:
          case SCHEMAS:
            break;
          default:
            throw new CheckFailed(fn + ": unexpected " + m.getKindCase() + ": " + m);
        }
      }
      check(maxOutstanding == Math.min(inFlight, batches),
          fn + ": never had " + inFlight + " batches in flight");
      int errors = 0;
      for (long id = 1; id <= batches; id++) {
        BatchResult r = results.get(id);
        int first = (int) (id - 1) * batchSize;
        int count = Math.min(total, first + batchSize) - first;
        check(r.getResultsCount() == count,
            fn + ": batch " + id + " has " + r.getResultsCount() + " results for " + count + " items");
        for (int j = 0; j < count; j++) {
          int i = first + j;
          ItemResult ir = r.getResults(j);
          String where = fn + ": item " + i + " (batch " + id + " #" + j + ")";
          if (itemValue(i).startsWith("throw")) {
            check(ir.getOutcomeCase() == ItemResult.OutcomeCase.ERROR,
                where + ": expected an ItemError, got " + ir.getOutcomeCase());
            ItemError e = ir.getError();
            check(e.getCode() == ItemError.Code.CODE_USER_EXCEPTION,
                where + ": error code " + e.getCode());
            check(EXCEPTION_TYPE.equals(e.getType()),
                where + ": exception type '" + e.getType() + "', expected " + EXCEPTION_TYPE);
            check(!e.getMessage().isEmpty(), where + ": error has no message");
            errors++;
          } else {
            check(ir.getOutcomeCase() == ItemResult.OutcomeCase.OK,
                where + ": expected ok, got " + ir.getOutcomeCase() + " " + ir);
            check(ir.getOk().getOutputsCount() == 1,
                where + ": " + ir.getOk().getOutputsCount() + " outputs, expected 1");
            Output o = ir.getOk().getOutputs(0);
            check(o.getValue().toStringUtf8().equals(itemValue(i)),
                where + ": value '" + o.getValue().toStringUtf8() + "', expected '" + itemValue(i) + "'");
            check(o.getKey().toStringUtf8().equals("k" + i),
                where + ": key '" + o.getKey().toStringUtf8() + "', expected 'k" + i + "'");
          }
        }
      }
      check(errors == (total + 36) / 37, fn + ": " + errors + " errors checked");
      drain(s, batches, total);
      return total;
    }
  }

  /** logAndEcho: each item's log line is forwarded with its batch id, before the result. */
  private int logSession() throws Exception {
    String fn = "logAndEcho";
    try (Session s = new Session(fn)) {
      s.send(wrap(init(fn).build()));
      awaitReady(s, fn);
      long batchId = 7;
      List<String> values = List.of("alpha", "beta", "gamma");
      Batch.Builder b = Batch.newBuilder().setId(batchId);
      for (String v : values) {
        b.addItems(Item.newBuilder().setKey(utf8("key-" + v)).setValue(utf8(v)));
      }
      s.send(wrap(b.build()));
      List<Log> logs = new ArrayList<>();
      BatchResult result = null;
      while (result == null) {
        RuntimeMessage m = s.next();
        check(m != null, fn + ": stream ended with " + s.endStatus());
        switch (m.getKindCase()) {
          case LOG:
            logs.add(m.getLog());
            break;
          case RESULT:
            result = m.getResult();
            break;
          case SCHEMAS:
            break;
          default:
            throw new CheckFailed(fn + ": unexpected " + m.getKindCase());
        }
      }
      check(result.getBatchId() == batchId, fn + ": result for batch " + result.getBatchId());
      check(result.getResultsCount() == values.size(), fn + ": " + result.getResultsCount() + " results");
      for (int j = 0; j < values.size(); j++) {
        ItemResult ir = result.getResults(j);
        check(ir.hasOk() && ir.getOk().getOutputsCount() == 1
                && ir.getOk().getOutputs(0).getValue().toStringUtf8().equals(values.get(j)),
            fn + ": item " + j + " not echoed: " + ir);
      }
      List<Log> user = new ArrayList<>();
      for (Log l : logs) {
        if (l.getBatchId() == batchId) {
          user.add(l);
        }
      }
      check(user.size() >= values.size(),
          fn + ": " + user.size() + " log lines with batch id " + batchId + " before its result, expected "
              + values.size() + " (all logs: " + logs + ")");
      for (Log l : user) {
        check(l.getLevel() == LogLevel.LOG_LEVEL_INFORMATION, fn + ": log level " + l.getLevel());
        check(!l.getMessage().isEmpty() && !l.getCategory().isEmpty(),
            fn + ": log without message or category: " + l);
      }
      for (String v : values) {
        check(user.stream().anyMatch(l -> l.getMessage().contains(v)),
            fn + ": no forwarded log line mentions '" + v + "': " + user);
      }
      drain(s, 1, values.size());
      return values.size();
    }
  }

  /** doThingDotnet over JSON: {"value":20} becomes {"value":"__20__"}. */
  private int jsonSession() throws Exception {
    String fn = "doThingDotnet";
    try (Session s = new Session(fn)) {
      s.send(wrap(init(fn).setValueFormat(Format.FORMAT_JSON).build()));
      awaitReady(s, fn);
      int[] inputs = {20, -3, 0};
      Batch.Builder b = Batch.newBuilder().setId(1);
      for (int v : inputs) {
        b.addItems(Item.newBuilder().setKey(utf8("j" + v)).setValue(utf8("{\"value\":" + v + "}")));
      }
      s.send(wrap(b.build()));
      BatchResult result = null;
      while (result == null) {
        RuntimeMessage m = s.next();
        check(m != null, fn + ": stream ended with " + s.endStatus());
        if (m.hasResult()) {
          result = m.getResult();
        } else {
          check(m.hasLog() || m.hasSchemas(), fn + ": unexpected " + m.getKindCase());
        }
      }
      check(result.getResultsCount() == inputs.length, fn + ": " + result.getResultsCount() + " results");
      for (int j = 0; j < inputs.length; j++) {
        ItemResult ir = result.getResults(j);
        check(ir.hasOk() && ir.getOk().getOutputsCount() == 1, fn + ": item " + j + ": " + ir);
        String json = ir.getOk().getOutputs(0).getValue().toStringUtf8().replaceAll("\\s", "");
        String expected = "{\"value\":\"__" + inputs[j] + "__\"}";
        check(json.equals(expected), fn + ": item " + j + " gave " + json + ", expected " + expected);
      }
      drain(s, 1, inputs.length);
      return inputs.length;
    }
  }
}
