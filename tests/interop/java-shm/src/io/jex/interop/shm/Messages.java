package io.jex.interop.shm;

import java.util.ArrayList;
import java.util.List;

/**
 * The session messages of protos/jex/v1/usercode.proto that this client sends and reads, with
 * their field numbers. Member messages are encoded straight to bytes; runtime messages are
 * decoded into small records. Fields this client does not use are skipped.
 */
final class Messages {
  private Messages() {}

  // Format and LogLevel enum values.
  static final int FORMAT_BYTES = 1;
  static final int FORMAT_TEXT = 2;
  static final int FORMAT_JSON = 3;
  static final int LOG_LEVEL_INFORMATION = 3;
  // ItemError.Code
  static final int CODE_USER_EXCEPTION = 1;

  static final class InitFields {
    String token = "";
    String function = "";
    String jobId = "interop-java-shm";
    String jobName = "interop";
    String stageName = "java-shm";
    int keyFormat = FORMAT_TEXT;
    int valueFormat = FORMAT_TEXT;
    int logLevel = LOG_LEVEL_INFORMATION;
    int maxInFlight;
  }

  /** MemberMessage{init = 1}. */
  static byte[] init(InitFields f) {
    Proto.Writer init =
        new Proto.Writer()
            .uint(1, 1) // protocol_version
            .string(2, f.token)
            .string(3, f.jobId)
            .string(4, f.jobName)
            .string(5, f.stageName)
            .string(6, f.function)
            .uint(7, f.keyFormat)
            .uint(8, f.valueFormat)
            .uint(10, f.logLevel)
            .uint(11, f.maxInFlight);
    return new Proto.Writer().message(1, init).toArray();
  }

  /** One Item of a Batch, with the session's default formats. */
  record Item(byte[] key, byte[] value, long timestampMs, int partition, long sequence) {}

  /** MemberMessage{batch = 3}. */
  static Proto.Writer batch(long id, int deadlineMs, List<Item> items) {
    Proto.Writer b = new Proto.Writer().uint(1, id).uint(2, deadlineMs);
    for (Item it : items) {
      b.message(
          3,
          new Proto.Writer()
              .bytes(1, it.key())
              .bytes(2, it.value())
              .uint(5, it.timestampMs())
              .int32(6, it.partition())
              .uint(7, it.sequence()));
    }
    return new Proto.Writer().message(3, b);
  }

  /** MemberMessage{drain = 6}: an empty Drain message, present so the oneof case is set. */
  static byte[] drain() {
    return new Proto.Writer().message(6, new Proto.Writer()).toArray();
  }

  // ---- runtime -> member ----

  enum Kind { READY, RESULT, SCHEMAS, LOG, PONG, DRAINED, ERROR, CLOSED, UNKNOWN }

  record Ready(String runtimeVersion, int pid, String functionName, long maxMessageBytes) {}

  record Output(byte[] key, byte[] value) {}

  /** ok = outputs non-null; error = errorType etc. */
  record ItemResult(List<Output> outputs, int errorCode, String errorType, String errorMessage) {
    boolean ok() {
      return outputs != null;
    }
  }

  record BatchResult(long batchId, List<ItemResult> results) {}

  record Log(int level, String category, String message, long batchId) {}

  record Drained(long batches, long items) {}

  record ProtocolError(int code, String message, boolean fatal) {}

  record Closed(int code, String message) {}

  /** A decoded RuntimeMessage: kind plus the one matching body (others null). */
  record RuntimeMessage(Kind kind, Object body) {
    @Override
    public String toString() {
      return kind + (body == null ? "" : " " + body);
    }
  }

  static RuntimeMessage decode(byte[] buf, int offset, int length) {
    Proto.Reader r = new Proto.Reader(buf, offset, length);
    RuntimeMessage last = new RuntimeMessage(Kind.UNKNOWN, null);
    while (r.next()) {
      if (r.wireType() != Proto.LEN) {
        r.skip();
        continue;
      }
      switch (r.field()) {
        case 1 -> last = new RuntimeMessage(Kind.READY, ready(r.nested()));
        case 2 -> last = new RuntimeMessage(Kind.RESULT, result(r.nested()));
        case 3 -> {
          r.skip();
          last = new RuntimeMessage(Kind.SCHEMAS, null);
        }
        case 4 -> last = new RuntimeMessage(Kind.LOG, log(r.nested()));
        case 5 -> {
          r.skip();
          last = new RuntimeMessage(Kind.PONG, null);
        }
        case 6 -> last = new RuntimeMessage(Kind.DRAINED, drained(r.nested()));
        case 7 -> last = new RuntimeMessage(Kind.ERROR, error(r.nested()));
        case 8 -> last = new RuntimeMessage(Kind.CLOSED, closed(r.nested()));
        default -> r.skip();
      }
    }
    return last;
  }

  private static Ready ready(Proto.Reader r) {
    String version = "";
    String name = "";
    int pid = 0;
    long maxMessage = 0;
    while (r.next()) {
      switch (r.field()) {
        case 1 -> version = r.string();
        case 2 -> pid = (int) r.varint();
        case 3 -> {
          Proto.Reader sig = r.nested();
          while (sig.next()) {
            if (sig.field() == 1) {
              name = sig.string();
            } else {
              sig.skip();
            }
          }
        }
        case 5 -> {
          Proto.Reader lim = r.nested();
          while (lim.next()) {
            if (lim.field() == 4) {
              maxMessage = lim.varint();
            } else {
              lim.skip();
            }
          }
        }
        default -> r.skip();
      }
    }
    return new Ready(version, pid, name, maxMessage);
  }

  private static BatchResult result(Proto.Reader r) {
    long id = 0;
    List<ItemResult> results = new ArrayList<>();
    while (r.next()) {
      switch (r.field()) {
        case 1 -> id = r.varint();
        case 2 -> results.add(itemResult(r.nested()));
        default -> r.skip();
      }
    }
    return new BatchResult(id, results);
  }

  private static ItemResult itemResult(Proto.Reader r) {
    List<Output> outputs = null;
    int code = 0;
    String type = "";
    String message = "";
    while (r.next()) {
      if (r.field() == 1) {
        outputs = new ArrayList<>();
        Proto.Reader ok = r.nested();
        while (ok.next()) {
          if (ok.field() == 1) {
            Proto.Reader o = ok.nested();
            byte[] key = new byte[0];
            byte[] value = new byte[0];
            while (o.next()) {
              switch (o.field()) {
                case 1 -> key = o.bytes();
                case 2 -> value = o.bytes();
                default -> o.skip();
              }
            }
            outputs.add(new Output(key, value));
          } else {
            ok.skip();
          }
        }
      } else if (r.field() == 2) {
        outputs = null; // oneof: the last case on the wire wins
        Proto.Reader e = r.nested();
        while (e.next()) {
          switch (e.field()) {
            case 1 -> code = (int) e.varint();
            case 2 -> type = e.string();
            case 3 -> message = e.string();
            default -> e.skip();
          }
        }
      } else {
        r.skip();
      }
    }
    return new ItemResult(outputs, code, type, message);
  }

  private static Log log(Proto.Reader r) {
    int level = 0;
    String category = "";
    String message = "";
    long batch = 0;
    while (r.next()) {
      switch (r.field()) {
        case 1 -> level = (int) r.varint();
        case 2 -> category = r.string();
        case 3 -> message = r.string();
        case 5 -> {
          batch = r.varint();
        }
        default -> r.skip();
      }
    }
    return new Log(level, category, message, batch); // batch 0 means none
  }

  private static Drained drained(Proto.Reader r) {
    long batches = 0;
    long items = 0;
    while (r.next()) {
      switch (r.field()) {
        case 1 -> batches = r.varint();
        case 2 -> items = r.varint();
        default -> r.skip();
      }
    }
    return new Drained(batches, items);
  }

  private static ProtocolError error(Proto.Reader r) {
    int code = 0;
    String message = "";
    boolean fatal = false;
    while (r.next()) {
      switch (r.field()) {
        case 1 -> code = (int) r.varint();
        case 2 -> message = r.string();
        case 4 -> fatal = r.varint() != 0;
        default -> r.skip();
      }
    }
    return new ProtocolError(code, message, fatal);
  }

  private static Closed closed(Proto.Reader r) {
    int code = 0;
    String message = "";
    while (r.next()) {
      switch (r.field()) {
        case 1 -> code = (int) r.varint();
        case 2 -> message = r.string();
        default -> r.skip();
      }
    }
    return new Closed(code, message);
  }
}
