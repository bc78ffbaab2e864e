package io.jex.interop.shm;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The member's side of a Jex shared-memory channel, written from docs/shared-memory.md (layout
 * version 2) with the JDK alone: FileChannel.map, byte-buffer VarHandles for acquire/release
 * and CAS, FIFO doorbells read and written through RandomAccessFile.
 *
 * <p>One channel is one session slot: opening claims a free slot (CAS of the member pid 0 -> own
 * pid), closing marks it closed so the runtime recycles it for the next member. Ring 0 (member ->
 * runtime) is produced here, ring 1 (runtime -> member) consumed here. One thread sends and
 * receives; a daemon monitor thread heartbeats, watches the runtime, and wakes the session thread
 * when it is blocked past its deadline or the runtime is lost.
 */
final class ShmChannel implements AutoCloseable {
  // Header (docs/shared-memory.md, "Layout").
  private static final byte[] MAGIC = {'J', 'E', 'X', 'R', 'I', 'N', 'G', 0};
  private static final int OFF_VERSION = 8;
  private static final int OFF_HEADER_SIZE = 12;
  private static final int OFF_C0 = 16;
  private static final int OFF_C1 = 20;
  private static final int OFF_MAX_MESSAGE = 24;
  private static final int OFF_STATE = 28;
  private static final int OFF_FILE_SIZE = 32;
  private static final int OFF_SLOT_COUNT = 40;
  private static final int OFF_SLOT_SIZE = 48;
  private static final int LAYOUT_VERSION = 2;
  private static final int MAX_SLOTS = 64;
  private static final int RUNTIME_BLOCK = 128; // in the header page
  // Slot control page, relative to the slot's start.
  private static final int MEMBER_BLOCK = 0;
  private static final int SIDE_PID = 0;
  private static final int SIDE_STATE = 4;
  private static final int SIDE_HEARTBEAT = 8;
  private static final int RING0_CONTROL = 128;
  private static final int RING1_CONTROL = 512;
  private static final int RING_CONTROL_SIZE = 384;
  private static final int CTL_TAIL = 0;
  private static final int CTL_HEAD = 128;
  private static final int CTL_CONSUMER_WAITING = 256;
  private static final int CTL_PRODUCER_WAITING = 260;
  private static final int HEADER_SIZE = 4096;

  private static final int PADDING = 1;
  private static final int WHOLE = 2;
  private static final int FIRST = 3;
  private static final int MIDDLE = 4;
  private static final int LAST = 5;

  // Spin, then block on the FIFO: no sched_yield phase (the document explains why).
  private static final long SPIN_NANOS = 50_000;
  private static final long HEARTBEAT_MS = 250;
  private static final long STALE_HEARTBEAT_MS = 5_000;

  private static final VarHandle INT =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final byte[] ZEROS = new byte[64 * 1024];

  private final Path path;
  // Separate mappings rather than one: a MappedByteBuffer is limited to 2 GiB - 1 bytes, and the
  // layout allows 64 slots of two 1 GiB rings. Slots and rings start page-aligned, so the header
  // page, the claimed slot's control page and each of its rings map on their own.
  private final MappedByteBuffer header;
  private final MappedByteBuffer ctl; // the claimed slot's control page: member block, ring controls
  private final int slot;
  private final int slotCount;
  private final MappedByteBuffer ring0;
  private final MappedByteBuffer ring1;
  private final int c0;
  private final int c1;
  private final int maxMessage;
  private final int runtimePid;
  private final RandomAccessFile r0Data;
  private final RandomAccessFile r0Space;
  private final RandomAccessFile r1Data;
  private final RandomAccessFile r1Space;
  private final Thread monitor;

  private long producerPosition;
  private long consumerPosition;
  private long consumerReleased;
  private byte[] assembly = new byte[4096];
  private int assembled = -1; // -1: not inside a FIRST..LAST sequence
  // Messages read from ring 1 while waiting for ring 0 space, handed out by receive() first.
  private final ArrayDeque<byte[]> pending = new ArrayDeque<>();

  private volatile String lostReason;
  private volatile long blockedUntilNanos; // 0 when the session thread is not blocked
  private volatile boolean closed;

  /** Statistics: how often this side had to block on a FIFO. */
  long blockedReads;

  /** Raised when the runtime is gone or the channel is unusable. */
  static final class ChannelException extends IOException {
    private static final long serialVersionUID = 1L;

    ChannelException(String message) {
      super(message);
    }
  }

  private ShmChannel(Path path, long claimTimeoutMillis) throws IOException {
    this.path = path;
    int pid = (int) ProcessHandle.current().pid();
    try (FileChannel fc =
        FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = fc.size();
      if (size < HEADER_SIZE) {
        throw new ChannelException(path + ": " + size + " bytes, shorter than the 4096-byte header");
      }
      header = fc.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_SIZE);
      header.order(ByteOrder.LITTLE_ENDIAN);
      byte[] magic = new byte[8];
      header.get(0, magic);
      require(Arrays.equals(magic, MAGIC), "magic is not JEXRING\\0");
      // state is published last by the runtime: read it (acquire) before the other fields.
      long deadline = System.nanoTime() + 5_000_000_000L;
      while ((int) INT.getAcquire(header, OFF_STATE) != 1) {
        require(System.nanoTime() < deadline, "state never became 1 (ready)");
        Thread.sleep(1);
      }
      int version = header.getInt(OFF_VERSION);
      require(version == LAYOUT_VERSION, "layout version " + version + ", expected " + LAYOUT_VERSION);
      require(header.getInt(OFF_HEADER_SIZE) == HEADER_SIZE, "header size " + header.getInt(OFF_HEADER_SIZE));
      c0 = header.getInt(OFF_C0);
      c1 = header.getInt(OFF_C1);
      require(validCapacity(c0), "ring 0 capacity " + c0 + " is not a power of two in 4096..2^30");
      require(validCapacity(c1), "ring 1 capacity " + c1 + " is not a power of two in 4096..2^30");
      slotCount = header.getInt(OFF_SLOT_COUNT);
      require(slotCount >= 1 && slotCount <= MAX_SLOTS, "slot count " + slotCount + " is not in 1.." + MAX_SLOTS);
      long slotSize = header.getLong(OFF_SLOT_SIZE);
      long expectedSlot = (long) HEADER_SIZE + c0 + c1;
      require(slotSize == expectedSlot, "slot size " + slotSize + ", expected 4096 + C0 + C1 = " + expectedSlot);
      long fileSize = header.getLong(OFF_FILE_SIZE);
      long expectedFile = HEADER_SIZE + slotCount * slotSize;
      require(fileSize == expectedFile && size >= fileSize,
          "file size field " + fileSize + " (file has " + size + "), expected 4096 + N * S = " + expectedFile);
      maxMessage = header.getInt(OFF_MAX_MESSAGE);

      // Claim: the first slot whose member pid CASes 0 -> ours. A slot a member just closed is
      // free again only once the runtime recycled it, so a full file is retried until the deadline.
      MappedByteBuffer claimed = null;
      int k = -1;
      long claimDeadline = System.nanoTime() + claimTimeoutMillis * 1_000_000;
      int[] holders = new int[slotCount];
      while (claimed == null) {
        for (int i = 0; i < slotCount && claimed == null; i++) {
          MappedByteBuffer page = fc.map(FileChannel.MapMode.READ_WRITE, HEADER_SIZE + i * slotSize, HEADER_SIZE);
          page.order(ByteOrder.LITTLE_ENDIAN);
          if (INT.compareAndSet(page, MEMBER_BLOCK + SIDE_PID, 0, pid)) {
            claimed = page;
            k = i;
          } else {
            holders[i] = (int) INT.getAcquire(page, MEMBER_BLOCK + SIDE_PID);
          }
        }
        if (claimed == null) {
          if (System.nanoTime() - claimDeadline >= 0) {
            throw new ChannelException(path + ": all " + slotCount + " session slot(s) are taken (member pids "
                + Arrays.toString(holders) + ") for " + claimTimeoutMillis
                + " ms; start the runtime with more UserCode:SharedMemory:Sessions");
          }
          Thread.sleep(5);
        }
      }
      ctl = claimed;
      slot = k;
      // The runtime recycles a slot before it frees the claim word (release; our CAS acquires):
      // a claimed slot must be blank, or the runtime broke the recycle contract.
      String dirty = dirtySlot(fc, slotSize);
      if (dirty != null) {
        INT.setRelease(ctl, MEMBER_BLOCK + SIDE_PID, 0); // hand it back untouched
        throw new ChannelException(path + ": slot " + slot + " was claimed but not recycled: " + dirty);
      }
      LONG.setRelease(ctl, MEMBER_BLOCK + SIDE_HEARTBEAT, nowMillis());
      INT.setRelease(ctl, MEMBER_BLOCK + SIDE_STATE, 1);

      long base = HEADER_SIZE + slot * slotSize;
      ring0 = fc.map(FileChannel.MapMode.READ_WRITE, base + HEADER_SIZE, c0);
      ring1 = fc.map(FileChannel.MapMode.READ_WRITE, base + HEADER_SIZE + c0, c1);
      ring0.order(ByteOrder.LITTLE_ENDIAN);
      ring1.order(ByteOrder.LITTLE_ENDIAN);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ChannelException(path + ": interrupted while opening");
    }
    runtimePid = (int) INT.getAcquire(header, RUNTIME_BLOCK + SIDE_PID);
    try {
      r0Data = fifo("r0-data");
      r0Space = fifo("r0-space");
      r1Data = fifo("r1-data");
      r1Space = fifo("r1-space");
    } catch (IOException e) {
      closeFifos();
      INT.setRelease(ctl, MEMBER_BLOCK + SIDE_STATE, 2); // let the runtime recycle the slot
      throw e;
    }

    // A recycled slot starts at position 0 on both rings (checked above).
    producerPosition = 0;
    consumerPosition = 0;
    consumerReleased = 0;

    monitor = new Thread(this::monitorLoop, "jex-shm-monitor");
    monitor.setDaemon(true);
    monitor.start();
  }

  /** Why the claimed slot is not blank (member block, ring counters, first frames), or null. */
  private String dirtySlot(FileChannel fc, long slotSize) throws IOException {
    int state = (int) INT.getAcquire(ctl, MEMBER_BLOCK + SIDE_STATE);
    long beat = (long) LONG.getAcquire(ctl, MEMBER_BLOCK + SIDE_HEARTBEAT);
    if (state != 0 || beat != 0) {
      return "member side state " + state + ", heartbeat " + beat + " (expected 0, 0)";
    }
    for (int r = 0; r < 2; r++) {
      int c = RING0_CONTROL + r * (RING1_CONTROL - RING0_CONTROL);
      long tail = (long) LONG.getAcquire(ctl, c + CTL_TAIL);
      long head = (long) LONG.getAcquire(ctl, c + CTL_HEAD);
      if (tail != 0 || head != 0) {
        return "ring " + r + " tail " + tail + ", head " + head + " (expected 0, 0)";
      }
    }
    return null;
  }

  /** Claims a free slot of the file at path, waiting up to claimTimeoutMillis for one to be freed. */
  static ShmChannel open(Path path, long claimTimeoutMillis) throws IOException {
    return new ShmChannel(path, claimTimeoutMillis);
  }

  /** The claimed slot's index. */
  int slot() {
    return slot;
  }

  int slotCount() {
    return slotCount;
  }

  int maxMessageBytes() {
    return maxMessage;
  }

  int runtimePid() {
    return runtimePid;
  }

  private void require(boolean ok, String what) throws ChannelException {
    if (!ok) {
      throw new ChannelException(path + ": " + what);
    }
  }

  private static boolean validCapacity(int c) {
    return c >= 4096 && c <= (1 << 30) && Integer.bitCount(c) == 1;
  }

  private String fifoName(String ring) {
    return path + "." + slot + "." + ring;
  }

  private RandomAccessFile fifo(String ring) throws IOException {
    Path p = Path.of(fifoName(ring));
    if (!Files.exists(p)) {
      throw new ChannelException(p + ": FIFO missing");
    }
    // Read-write, as the document asks: opening a FIFO this way never blocks, and a write
    // never fails for want of a reader.
    return new RandomAccessFile(p.toFile(), "rw");
  }

  private static long nowMillis() {
    return System.nanoTime() / 1_000_000; // CLOCK_MONOTONIC on Linux, as the heartbeat requires
  }

  private static int align8(int n) {
    return (n + 7) & ~7;
  }

  // ---------------------------------------------------------------- producer (ring 0)

  /** Writes one protobuf MemberMessage into ring 0 (fragmented when large) and flushes. */
  void send(byte[] message) throws IOException {
    send(message, 0, message.length);
  }

  void send(Proto.Writer message) throws IOException {
    byte[] b = message.toArray();
    send(b, 0, b.length);
  }

  private void send(byte[] buf, int off, int len) throws IOException {
    if (len > maxMessage) {
      throw new ChannelException("message of " + len + " bytes is over the channel's limit of " + maxMessage);
    }
    int maxPayload = c0 / 4 - 8;
    if (len <= maxPayload) {
      writeFrame(WHOLE, buf, off, len);
    } else {
      int done = 0;
      while (done < len) {
        int n = Math.min(maxPayload, len - done);
        int type = done == 0 ? FIRST : (done + n == len ? LAST : MIDDLE);
        writeFrame(type, buf, off + done, n);
        done += n;
        if (type != LAST && freeSpace() < align8(8 + Math.min(maxPayload, len - done)) * 2L) {
          // The consumer may be waiting for the whole message: publish what is written.
          flush();
        }
      }
    }
    flush();
  }

  private long freeSpace() {
    return c0 - (producerPosition - (long) LONG.getAcquire(ctl, RING0_CONTROL + CTL_HEAD));
  }

  private void writeFrame(int type, byte[] buf, int off, int n) throws IOException {
    int aligned = align8(8 + n);
    int index = (int) (producerPosition & (c0 - 1));
    int toEnd = c0 - index;
    long need = aligned <= toEnd ? aligned : (long) toEnd + aligned;
    if (freeSpace() < need) {
      flush(); // the consumer must see what is there before we wait for it to make space
      awaitSpace(need);
    }
    if (aligned > toEnd) {
      ring0.putInt(index + 4, PADDING);
      INT.setRelease(ring0, index, toEnd);
      producerPosition += toEnd;
      index = 0;
    }
    ring0.putInt(index + 4, type);
    ring0.put(index + 8, buf, off, n);
    INT.setRelease(ring0, index, 8 + n); // publishes the frame: the length is written last
    producerPosition += aligned;
  }

  private void flush() throws IOException {
    LONG.setRelease(ctl, RING0_CONTROL + CTL_TAIL, producerPosition);
    VarHandle.fullFence();
    ring(RING0_CONTROL + CTL_CONSUMER_WAITING, r0Data);
  }

  /**
   * Waits for ring 0 space. Meanwhile it keeps consuming ring 1 into {@link #pending}: a runtime
   * blocked writing a full ring 1 may not read ring 0, and a member that only waited for space
   * would then wait forever. The FIFO block is cut every 100 ms (by the monitor) to look again.
   */
  private void awaitSpace(long need) throws IOException {
    int flag = RING0_CONTROL + CTL_PRODUCER_WAITING;
    long start = System.nanoTime();
    long deadline = start + 30_000_000_000L;
    while (freeSpace() < need) {
      checkLost();
      for (byte[] m; (m = poll()) != null; ) {
        pending.add(m);
      }
      release();
      long now = System.nanoTime();
      if (now - deadline >= 0) {
        throw new ChannelException("no space in ring 0 for " + need + " bytes within 30 s");
      }
      long waited = now - start;
      if (waited < SPIN_NANOS) {
        Thread.onSpinWait();
      } else {
        block(flag, r0Space, () -> freeSpace() >= need, now + 100_000_000L);
      }
    }
  }

  // ---------------------------------------------------------------- consumer (ring 1)

  /** The next complete RuntimeMessage's bytes, waiting up to timeoutMillis. */
  byte[] receive(long timeoutMillis) throws IOException {
    if (!pending.isEmpty()) {
      return pending.poll();
    }
    long start = System.nanoTime();
    long deadline = start + timeoutMillis * 1_000_000;
    while (true) {
      byte[] m = poll();
      if (m != null) {
        release();
        return m;
      }
      release(); // the ring is empty: hand the space back before waiting
      if (lostReason != null) {
        // A runtime publishes its last messages before it marks itself closed: take them first.
        m = poll();
        if (m != null) {
          release();
          return m;
        }
        checkLost();
      }
      long now = System.nanoTime();
      if (now - deadline >= 0) {
        throw new ChannelException("no message from the runtime within " + timeoutMillis + " ms");
      }
      long waited = now - start;
      if (waited < SPIN_NANOS) {
        Thread.onSpinWait();
      } else {
        block(RING1_CONTROL + CTL_CONSUMER_WAITING, r1Data, this::hasFrame, deadline);
      }
    }
  }

  private boolean hasFrame() {
    return (int) INT.getAcquire(ring1, (int) (consumerPosition & (c1 - 1))) != 0;
  }

  /** Consumes frames until one message is complete; null when the ring runs empty first. */
  private byte[] poll() throws IOException {
    while (true) {
      int index = (int) (consumerPosition & (c1 - 1));
      int length = (int) INT.getAcquire(ring1, index);
      if (length == 0) {
        return null;
      }
      int type = ring1.getInt(index + 4);
      int aligned = align8(length);
      if (length < 8 || aligned > c1 - index || length < 0) {
        throw corrupt("frame length " + length + " at index " + index);
      }
      if (type == PADDING) {
        if (length != c1 - index) {
          throw corrupt("padding of " + length + " bytes at index " + index + " does not end the ring");
        }
        consumerPosition += length;
        continue;
      }
      int n = length - 8;
      byte[] whole = null;
      switch (type) {
        case WHOLE -> {
          if (assembled >= 0) {
            throw corrupt("WHOLE frame inside a fragmented message");
          }
          whole = new byte[n];
          ring1.get(index + 8, whole);
        }
        case FIRST -> {
          if (assembled >= 0) {
            throw corrupt("FIRST frame inside a fragmented message");
          }
          assembled = 0;
          append(index + 8, n);
        }
        case MIDDLE, LAST -> {
          if (assembled < 0) {
            throw corrupt((type == LAST ? "LAST" : "MIDDLE") + " frame without FIRST");
          }
          append(index + 8, n);
          if (type == LAST) {
            whole = Arrays.copyOf(assembly, assembled);
            assembled = -1;
          }
        }
        default -> throw corrupt("unknown frame type " + type + " at index " + index);
      }
      consumerPosition += aligned;
      if (consumerPosition - consumerReleased >= c1 / 4) {
        release();
      }
      if (whole != null) {
        return whole;
      }
    }
  }

  private void append(int index, int n) throws ChannelException {
    if ((long) assembled + n > maxMessage) {
      throw corrupt("reassembled message over the " + maxMessage + "-byte limit");
    }
    if (assembled + n > assembly.length) {
      assembly = Arrays.copyOf(assembly, Math.max(assembly.length * 2, assembled + n));
    }
    ring1.get(index, assembly, assembled, n);
    assembled += n;
  }

  private ChannelException corrupt(String what) {
    lostReason = "ring 1 corrupted at position " + consumerPosition + ": " + what;
    return new ChannelException(path + ": " + lostReason);
  }

  /** Zeroes the consumed bytes (so "length != 0" keeps meaning "published"), then moves head. */
  private void release() throws IOException {
    if (consumerPosition == consumerReleased) {
      return;
    }
    long from = consumerReleased;
    while (from < consumerPosition) {
      int index = (int) (from & (c1 - 1));
      int n = (int) Math.min(Math.min(consumerPosition - from, c1 - index), ZEROS.length);
      ring1.put(index, ZEROS, 0, n);
      from += n;
    }
    consumerReleased = consumerPosition;
    LONG.setRelease(ctl, RING1_CONTROL + CTL_HEAD, consumerPosition);
    VarHandle.fullFence();
    ring(RING1_CONTROL + CTL_PRODUCER_WAITING, r1Space);
  }

  // ---------------------------------------------------------------- wake-ups and liveness

  /** The publisher half of the doorbell: after a full fence, clear a set flag and ring once. */
  private void ring(int flagOffset, RandomAccessFile fifo) throws IOException {
    if ((int) INT.getVolatile(ctl, flagOffset) == 1 && INT.compareAndSet(ctl, flagOffset, 1, 0)) {
      fifo.write(1);
    }
  }

  interface Condition {
    boolean holds();
  }

  /** The waiter half: set the flag (full fence), re-check, then block reading the FIFO. */
  /** Returns when woken: by the peer, by loss, or by the monitor once deadlineNanos passed. */
  private void block(int flagOffset, RandomAccessFile fifo, Condition ready, long deadlineNanos)
      throws IOException {
    INT.getAndSet(ctl, flagOffset, 1);
    if (ready.holds()) {
      INT.compareAndSet(ctl, flagOffset, 1, 0);
      return;
    }
    checkLost();
    blockedUntilNanos = deadlineNanos;
    try {
      byte[] drain = new byte[64];
      fifo.read(drain); // returns once at least one byte is there; takes what is there
      blockedReads++;
    } finally {
      blockedUntilNanos = 0;
    }
  }

  private void checkLost() throws ChannelException {
    String reason = lostReason;
    if (reason != null) {
      throw new ChannelException(path + ": runtime lost: " + reason);
    }
  }

  private void monitorLoop() {
    try {
      while (!closed) {
        Thread.sleep(HEARTBEAT_MS);
        if (closed) {
          return;
        }
        LONG.setRelease(ctl, MEMBER_BLOCK + SIDE_HEARTBEAT, nowMillis());
        String lost = peerLost();
        if (lost != null && lostReason == null) {
          lostReason = lost;
          if (!runtimeClosed()) {
            removeFiles(); // a runtime that closed cleanly removes its own files
          }
          wakeSelf();
          return;
        }
        long until = blockedUntilNanos;
        if (until != 0 && System.nanoTime() - until >= 0) {
          wakeSelf(); // the blocked read re-checks its deadline
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      lostReason = "monitor failed: " + e;
    }
  }

  private String peerLost() {
    int state = (int) INT.getAcquire(header, RUNTIME_BLOCK + SIDE_STATE);
    if (state == 2) {
      return "runtime closed the channel";
    }
    int pid = (int) INT.getAcquire(header, RUNTIME_BLOCK + SIDE_PID);
    if (pid == 0) {
      return null;
    }
    if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      return "runtime process " + pid + " is gone";
    }
    long beat = (long) LONG.getAcquire(header, RUNTIME_BLOCK + SIDE_HEARTBEAT);
    if (nowMillis() - beat > STALE_HEARTBEAT_MS) {
      return "runtime heartbeat is " + (nowMillis() - beat) + " ms old";
    }
    return null;
  }

  /** Wakes this side's own blocked waiters (they block on r1-data and r0-space). */
  private void wakeSelf() throws IOException {
    r1Data.write(1);
    r0Space.write(1);
  }

  private void removeFiles() {
    // The runtime died: the survivor removes the file and every slot's FIFOs.
    ArrayDeque<Path> files = new ArrayDeque<>();
    files.add(path);
    for (int k = 0; k < slotCount; k++) {
      for (String ring : new String[] {"r0-data", "r0-space", "r1-data", "r1-space"}) {
        files.add(Path.of(path + "." + k + "." + ring));
      }
    }
    for (Path f : files) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException ignored) {
        // best effort: another member may have removed it first
      }
    }
  }

  /** Whether the runtime has marked its side closed (after it sent SessionClosed, say). */
  boolean runtimeClosed() {
    return (int) INT.getAcquire(header, RUNTIME_BLOCK + SIDE_STATE) == 2;
  }

  /**
   * Releases the slot: stop using the rings, side state = 2, then ring the runtime's two FIFOs of
   * this slot (r0-data, r1-space) so it notices at once and recycles the slot.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    monitor.interrupt();
    try {
      // The monitor must be done writing the heartbeat before the slot is handed back: once it
      // sees state 2 the runtime zeroes the member block for the next member.
      monitor.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      INT.setRelease(ctl, MEMBER_BLOCK + SIDE_STATE, 2);
      VarHandle.fullFence();
      r0Data.write(1);
      r1Space.write(1);
    } catch (IOException ignored) {
      // the runtime is gone already; nothing to tell it
    }
    closeFifos();
  }

  private void closeFifos() {
    for (RandomAccessFile f : new RandomAccessFile[] {r0Data, r0Space, r1Data, r1Space}) {
      try {
        if (f != null) {
          f.close();
        }
      } catch (IOException ignored) {
        // closing a FIFO we opened cannot lose data
      }
    }
  }
}
