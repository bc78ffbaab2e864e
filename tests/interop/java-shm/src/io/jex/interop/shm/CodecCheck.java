package io.jex.interop.shm;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * Checks the hand-written protobuf code against real protobuf (python3-protobuf, driven by
 * codec_check.py): "encode" prints member messages as hex for Python to parse; "decode HEX..."
 * prints what this client reads from runtime messages Python encoded.
 */
final class CodecCheck {
  private CodecCheck() {}

  public static void main(String[] args) {
    HexFormat hex = HexFormat.of();
    if (args.length > 0 && args[0].equals("encode")) {
      Messages.InitFields f = new Messages.InitFields();
      f.token = "tök";
      f.function = "throwOnDemand";
      f.maxInFlight = 4;
      System.out.println(hex.formatHex(Messages.init(f)));
      System.out.println(
          hex.formatHex(
              Messages.batch(
                      1L << 40,
                      60_000,
                      List.of(
                          new Messages.Item(
                              "k".getBytes(StandardCharsets.UTF_8), new byte[] {0, (byte) 255}, -5, -1, 7),
                          new Messages.Item(new byte[0], new byte[0], 0, 0, 0)))
                  .toArray()));
      System.out.println(hex.formatHex(Messages.drain()));
      return;
    }
    for (int i = 1; i < args.length; i++) {
      byte[] b = hex.parseHex(args[i]);
      Messages.RuntimeMessage m = Messages.decode(b, 0, b.length);
      System.out.println(describe(m));
    }
  }

  private static String describe(Messages.RuntimeMessage m) {
    HexFormat hex = HexFormat.of();
    if (m.body() instanceof Messages.BatchResult r) {
      StringBuilder sb = new StringBuilder("RESULT " + r.batchId());
      for (Messages.ItemResult ir : r.results()) {
        if (ir.ok()) {
          sb.append(" ok[");
          for (Messages.Output o : ir.outputs()) {
            sb.append(hex.formatHex(o.key())).append(':').append(hex.formatHex(o.value())).append(';');
          }
          sb.append(']');
        } else {
          sb.append(" err[").append(ir.errorCode()).append(',').append(ir.errorType()).append(']');
        }
      }
      return sb.toString();
    }
    return m.toString();
  }
}
