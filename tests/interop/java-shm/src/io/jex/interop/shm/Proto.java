package io.jex.interop.shm;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The protobuf wire format, by hand: this client may use the JDK only, so the few session
 * messages it needs (protos/jex/v1/usercode.proto) are written and read field by field.
 * Varints, 64-bit and length-delimited fields; unknown fields are skipped, as protobuf requires.
 */
final class Proto {
  private Proto() {}

  static final int VARINT = 0;
  static final int I64 = 1;
  static final int LEN = 2;
  static final int I32 = 5;

  /** A growable little writer. Nested messages are built in their own Writer and appended. */
  static final class Writer {
    private byte[] buf = new byte[256];
    private int pos;

    private void ensure(int n) {
      if (pos + n > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
      }
    }

    Writer rawVarint(long v) {
      ensure(10);
      while ((v & ~0x7FL) != 0) {
        buf[pos++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      buf[pos++] = (byte) v;
      return this;
    }

    private Writer tag(int field, int wireType) {
      return rawVarint(((long) field << 3) | wireType);
    }

    /** Proto3 leaves default values off the wire; so does this writer. */
    Writer uint(int field, long v) {
      return v == 0 ? this : tag(field, VARINT).rawVarint(v);
    }

    Writer int32(int field, int v) {
      // Negative int32 values are sign-extended to ten bytes, as protobuf specifies.
      return v == 0 ? this : tag(field, VARINT).rawVarint((long) v);
    }

    Writer bytes(int field, byte[] b) {
      if (b.length == 0) {
        return this;
      }
      tag(field, LEN).rawVarint(b.length);
      ensure(b.length);
      System.arraycopy(b, 0, buf, pos, b.length);
      pos += b.length;
      return this;
    }

    Writer string(int field, String s) {
      return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    /** A message field: written even when empty, so that a oneof case (e.g. Drain{}) is set. */
    Writer message(int field, Writer m) {
      tag(field, LEN).rawVarint(m.pos);
      ensure(m.pos);
      System.arraycopy(m.buf, 0, buf, pos, m.pos);
      pos += m.pos;
      return this;
    }

    int size() {
      return pos;
    }

    byte[] toArray() {
      return Arrays.copyOf(buf, pos);
    }

    void writeTo(ByteBuffer dst) {
      dst.put(buf, 0, pos);
    }
  }

  /** Reads fields from a byte range; call next() then the accessor matching wireType(). */
  static final class Reader {
    private final byte[] buf;
    private int pos;
    private final int end;
    private int tag;

    Reader(byte[] buf) {
      this(buf, 0, buf.length);
    }

    Reader(byte[] buf, int offset, int length) {
      this.buf = buf;
      this.pos = offset;
      this.end = offset + length;
    }

    /** Advances to the next field; false at the end. */
    boolean next() {
      if (pos >= end) {
        return false;
      }
      tag = (int) varint();
      if (tag >>> 3 == 0) {
        throw new IllegalArgumentException("protobuf: field number 0 at offset " + pos);
      }
      return true;
    }

    int field() {
      return tag >>> 3;
    }

    int wireType() {
      return tag & 7;
    }

    long varint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw new IllegalArgumentException("protobuf: truncated varint");
        }
        byte b = buf[pos++];
        v |= (long) (b & 0x7F) << shift;
        if (b >= 0) {
          return v;
        }
      }
      throw new IllegalArgumentException("protobuf: varint longer than 10 bytes");
    }

    /** A length-delimited field as its own reader. */
    Reader nested() {
      int len = lengthPrefix();
      Reader r = new Reader(buf, pos, len);
      pos += len;
      return r;
    }

    byte[] bytes() {
      int len = lengthPrefix();
      byte[] b = Arrays.copyOfRange(buf, pos, pos + len);
      pos += len;
      return b;
    }

    String string() {
      int len = lengthPrefix();
      String s = new String(buf, pos, len, StandardCharsets.UTF_8);
      pos += len;
      return s;
    }

    private int lengthPrefix() {
      long len = varint();
      if (len < 0 || len > end - pos) {
        throw new IllegalArgumentException("protobuf: length " + len + " past the end");
      }
      return (int) len;
    }

    void skip() {
      switch (wireType()) {
        case VARINT:
          varint();
          break;
        case I64:
          pos += 8;
          break;
        case LEN:
          int len = lengthPrefix(); // not "pos += lengthPrefix()": that adds to the old pos
          pos += len;
          break;
        case I32:
          pos += 4;
          break;
        default:
          throw new IllegalArgumentException("protobuf: wire type " + wireType());
      }
      if (pos > end) {
        throw new IllegalArgumentException("protobuf: field past the end");
      }
    }
  }
}
