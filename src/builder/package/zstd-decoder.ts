/**
 * zstd decoding, native when it can be, pure JavaScript when it cannot. zstd-napi (a native addon
 * compiled at npm install) is the fast path; the GitHub Action is one esbuild bundle, which cannot
 * carry a native addon, and a machine may have failed to build it, so the pure-JS fzstd decodes
 * instead. zstd-napi is loaded lazily, once, through createRequire inside a try: a bundle that
 * marks it external, or an install without it, falls back rather than failing at import.
 *
 * `CONDAOPS_ZSTD=fzstd` forces the fallback (tests, debugging); any other value has no effect.
 *
 * Both backends behave alike: whole bodies (zstdDecompress) and streams (createZstdStream, which
 * hands each decoded piece to its sink before it makes the next, so a bomb costs no memory) fail
 * with a plain Error carrying zstd's own wording ("Data corruption detected", "Unknown frame
 * descriptor", "the zstd stream ends in the middle of a frame"…); an error thrown by the sink
 * passes through untouched. Frames needing a window over 128 MiB are refused by both, as zstd
 * does by default. fzstd needs some help for that: its frame headers, block sizes and content
 * sizes are checked here (FrameScanner) before it sees the bytes. It does not verify zstd's
 * optional content checksums, and it is several times slower than the native decoder.
 */
import { createRequire } from "node:module";
import { Decompress as FzstdDecompress, decompress as fzstdDecompress } from "fzstd";
import type * as ZstdBinding from "zstd-napi/binding.js";

export type ZstdBackend = "zstd-napi" | "fzstd";

export interface ZstdStream {
  write(chunk: Buffer): void;
  /** Throws when the input stopped in the middle of a frame. */
  end(): void;
}

export interface ZstdDecoder {
  readonly backend: ZstdBackend;
  decompress(buf: Buffer): Buffer;
  /** `sink` gets each decoded piece; it must not keep it (the native backend reuses the buffer). */
  stream(sink: (chunk: Buffer) => void): ZstdStream;
}

type Binding = typeof ZstdBinding;

/** zstd's default limit for streaming decompression (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
const WINDOW_MAX = 2 ** 27;
const BLOCK_MAX = 128 * 1024;
const MID_FRAME = "the zstd stream ends in the middle of a frame";

// ---------------------------------------------------------------------------------------------
// zstd-napi

/** zstd-napi's binding; throws where it is not built, not installed or not bundled. */
const requireBinding = (): Binding => createRequire(import.meta.url)("zstd-napi/binding.js") as Binding;

/**
 * Streaming decompression into one reused buffer: each piece is handed to `sink` (which must not
 * keep it) before the next is made, so a bomb costs no memory. (zstd-napi's DecompressStream pushes
 * everything one input chunk expands to at once: a 64 KiB chunk of a bomb is gigabytes.)
 */
class NativeStream implements ZstdStream {
  private readonly dctx: ZstdBinding.DCtx;
  private readonly out: Buffer;
  private inFrame = false;

  constructor(
    z: Binding,
    private readonly sink: (chunk: Buffer) => void,
  ) {
    this.dctx = new z.DCtx();
    this.out = Buffer.allocUnsafe(z.dStreamOutSize());
  }

  write(chunk: Buffer): void {
    let src = chunk;
    for (;;) {
      const [ret, produced, consumed] = this.dctx.decompressStream(this.out, src);
      src = src.subarray(consumed);
      if (produced > 0) this.sink(this.out.subarray(0, produced));
      if (src.length === 0 && (produced < this.out.length || ret === 0)) {
        this.inFrame = ret !== 0;
        return;
      }
    }
  }

  end(): void {
    if (this.inFrame) throw new Error(MID_FRAME);
  }
}

/**
 * A whole body, as zstd-napi's decompress() does it (one call when every frame declares its size,
 * else streamed in chunks of at least the input's size), but with a context of its own per call
 * (zstd-napi's shared one refuses every later call once one has failed mid-stream) and refusing a
 * body cut off mid-frame (zstd-napi returns what it decoded so far).
 */
function nativeDecompress(z: Binding, buf: Buffer): Buffer {
  const dctx = new z.DCtx();
  let size: number | null = 0;
  for (let frame = buf; frame.length > 0 && size !== null; frame = frame.subarray(z.findFrameCompressedSize(frame))) {
    const n = z.getFrameContentSize(frame);
    size = n === null ? null : size + n;
  }
  if (size !== null) {
    const out = Buffer.allocUnsafe(size);
    if (dctx.decompress(out, buf) !== size) throw new Error("Data corruption detected");
    return out;
  }
  const chunks: Buffer[] = [];
  const min = z.dStreamOutSize();
  for (let src = buf; ; ) {
    const out = Buffer.allocUnsafe(Math.max(min, src.length));
    const [ret, produced, consumed] = dctx.decompressStream(out, src);
    src = src.subarray(consumed);
    if (produced > 0) chunks.push(out.subarray(0, produced));
    if (src.length === 0 && (produced < out.length || ret === 0)) {
      if (ret !== 0) throw new Error(MID_FRAME);
      return Buffer.concat(chunks);
    }
  }
}

function nativeDecoder(z: Binding): ZstdDecoder {
  return { backend: "zstd-napi", decompress: (buf) => nativeDecompress(z, buf), stream: (sink) => new NativeStream(z, sink) };
}

// ---------------------------------------------------------------------------------------------
// fzstd

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;

type Stage = "magic" | "header" | "block" | "body" | "checksum" | "skip-size" | "skip";

/**
 * Walks the frame structure of a zstd stream without decoding it (headers, block headers, sizes),
 * refusing what zstd refuses: unknown magic, reserved bits, dictionaries, windows over 128 MiB,
 * blocks over their maximum size. fzstd would allocate a window of whatever size a header claims
 * (up to 2 GiB) and does not check much of this; it sees only bytes this has already passed.
 */
class FrameScanner {
  /** The frame (or block) header being collected. */
  readonly hdr = Buffer.alloc(18);
  private have = 0;
  /** Header bytes wanted in the header stages; bytes left to skip in the others. */
  private need = 4;
  private stage: Stage = "magic";
  private blockMax = 0;
  private lastBlock = false;
  private checksum = false;
  /** The current frame's header length (zstd frames), and its declared content size. */
  headerLength = 0;
  contentSize: number | undefined;

  /** Whether the input so far ends at a frame boundary. */
  get idle(): boolean {
    return this.stage === "magic" && this.have === 0;
  }

  /**
   * Consumes `buf` from `pos` until its end, a zstd frame header's end (returns "header": the
   * header is `hdr[0, headerLength)`) or a frame's end ("frame"). Returns the stopping point in `at`.
   */
  scan(buf: Uint8Array, pos: number): { at: number; event: "header" | "frame" | undefined } {
    while (pos < buf.length) {
      if (this.stage === "body" || this.stage === "checksum" || this.stage === "skip") {
        const n = Math.min(this.need, buf.length - pos);
        pos += n;
        this.need -= n;
        if (this.need > 0) break;
        if (this.stage === "body" && !this.lastBlock) this.expect("block", 3);
        else if (this.stage === "body" && this.checksum) this.expect("checksum", 4);
        else return { at: pos, event: this.frameEnd() };
        continue;
      }
      this.hdr[this.have++] = buf[pos++] as number;
      if (this.have < this.need) continue;
      const event = this.header();
      if (event) return { at: pos, event };
    }
    return { at: pos, event: undefined };
  }

  private expect(stage: Stage, bytes: number): void {
    this.stage = stage;
    this.have = 0;
    this.need = bytes;
  }

  private frameEnd(): "frame" {
    this.expect("magic", 4);
    return "frame";
  }

  /** `need` header bytes are in: act on them. */
  private header(): "header" | "frame" | undefined {
    const h = this.hdr;
    switch (this.stage) {
      case "magic": {
        const magic = h.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.stage = "header";
          this.need = 5;
        } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
          this.stage = "skip-size";
          this.need = 8;
        } else {
          throw new Error("Unknown frame descriptor");
        }
        return undefined;
      }
      case "header": {
        const fhd = h[4] as number;
        const fcsFlag = fhd >> 6;
        const single = (fhd >> 5) & 1;
        const dictBytes = [0, 1, 2, 4][fhd & 3] as number;
        const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
        const length = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
        if (this.need < length) {
          this.need = length;
          return undefined;
        }
        if (fhd & 0x08) throw new Error("Unsupported frame parameter");
        let at = single ? 5 : 6;
        if (dictBytes > 0 && h.readUIntLE(at, dictBytes) !== 0) throw new Error("Dictionary mismatch");
        at += dictBytes;
        let size: number | undefined;
        if (fcsBytes === 8) size = Number(h.readBigUInt64LE(at));
        else if (fcsBytes > 0) size = h.readUIntLE(at, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
        let window: number;
        if (single) {
          window = size as number;
        } else {
          const descriptor = h[5] as number;
          const base = 2 ** (10 + (descriptor >> 3));
          window = base + (base / 8) * (descriptor & 7);
        }
        if (window > WINDOW_MAX) throw new Error("Frame requires too much memory for decoding");
        this.blockMax = Math.min(window, BLOCK_MAX);
        this.checksum = (fhd & 0x04) !== 0;
        this.contentSize = size;
        this.headerLength = length;
        this.expect("block", 3);
        return "header";
      }
      case "block": {
        const v = h.readUIntLE(0, 3);
        this.lastBlock = (v & 1) === 1;
        const type = (v >> 1) & 3;
        const size = v >>> 3;
        if (type === 3 || size > this.blockMax) throw new Error("Data corruption detected");
        this.expect("body", type === 1 ? 1 : size);
        if (this.need === 0) {
          // an empty raw block: nothing to skip
          if (!this.lastBlock) this.expect("block", 3);
          else if (this.checksum) this.expect("checksum", 4);
          else return this.frameEnd();
        }
        return undefined;
      }
      case "skip-size": {
        const size = h.readUInt32LE(4);
        if (size === 0) return this.frameEnd();
        this.expect("skip", size);
        return undefined;
      }
      default:
        throw new Error(`zstd frame scanner: unexpected stage ${this.stage}`);
    }
  }
}

/** fzstd's own errors (and anything else its decoding throws) in zstd's wording. */
const corrupt = (cause: unknown): Error => new Error("Data corruption detected", { cause });

/** Streaming through fzstd, one frame at a time: it emits each block (<= 128 KiB) as it is decoded. */
class FzstdStream implements ZstdStream {
  private readonly scanner = new FrameScanner();
  private decoder: FzstdDecompress | undefined;
  /** Bytes the current frame has produced. */
  private produced = 0;
  private sinkFailed = false;

  constructor(private readonly sink: (chunk: Buffer) => void) {}

  private readonly ondata = (data: Uint8Array): void => {
    if (data.length === 0) return;
    this.produced += data.length;
    try {
      this.sink(Buffer.from(data.buffer, data.byteOffset, data.length));
    } catch (e) {
      this.sinkFailed = true;
      throw e;
    }
  };

  /** A copy of `data` to fzstd: it keeps the tail of a block that is not complete yet, and callers reuse their buffers. */
  private push(data: Uint8Array, final: boolean): void {
    try {
      (this.decoder as FzstdDecompress).push(new Uint8Array(data), final);
    } catch (e) {
      if (this.sinkFailed) throw e;
      throw corrupt(e);
    }
  }

  write(chunk: Buffer): void {
    const scanner = this.scanner;
    for (let pos = 0; pos < chunk.length; ) {
      const { at, event } = scanner.scan(chunk, pos);
      if (event === "header") {
        this.decoder = new FzstdDecompress(this.ondata);
        this.produced = 0;
        this.push(scanner.hdr.subarray(0, scanner.headerLength), false);
      } else if (this.decoder) {
        // Blocks and checksum of the current zstd frame (headers and skippable frames are not passed on).
        this.push(chunk.subarray(pos, at), event === "frame");
        if (event === "frame") {
          this.decoder = undefined;
          if (scanner.contentSize !== undefined && this.produced !== scanner.contentSize) throw new Error("Data corruption detected");
        }
      }
      pos = at;
    }
  }

  end(): void {
    if (!this.scanner.idle) throw new Error(MID_FRAME);
  }
}

/** A whole body: its frames checked first, then one fzstd call (straight into the output when the sizes are declared). */
function fzstdWhole(buf: Buffer): Buffer {
  const scanner = new FrameScanner();
  let size: number | undefined = 0;
  for (let pos = 0; pos < buf.length; ) {
    const { at, event } = scanner.scan(buf, pos);
    if (event === "header") size = size === undefined || scanner.contentSize === undefined ? undefined : size + scanner.contentSize;
    pos = at;
  }
  if (!scanner.idle) throw new Error(MID_FRAME);
  // fzstd reads content sizes as 32-bit integers.
  if (size !== undefined && size > 0x7fffffff) throw new Error("Frame requires too much memory for decoding");
  let out: Uint8Array;
  try {
    out = fzstdDecompress(buf);
  } catch (e) {
    throw corrupt(e);
  }
  if (size !== undefined && out.length !== size) throw new Error("Data corruption detected");
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

const FZSTD: ZstdDecoder = { backend: "fzstd", decompress: fzstdWhole, stream: (sink) => new FzstdStream(sink) };

// ---------------------------------------------------------------------------------------------

let active: ZstdDecoder | undefined;

/** The decoder in use, chosen once: zstd-napi when it loads (and CONDAOPS_ZSTD is not "fzstd"), else fzstd. */
function decoder(): ZstdDecoder {
  if (!active) {
    active = FZSTD;
    if (process.env.CONDAOPS_ZSTD !== "fzstd") {
      try {
        active = nativeDecoder(requireBinding());
      } catch {
        // not built, not installed, or not bundled: fzstd decodes instead
      }
    }
  }
  return active;
}

/** @internal A given backend, whichever is in use (tests). Throws for zstd-napi where it cannot be loaded. */
export function decoderFor(backend: ZstdBackend): ZstdDecoder {
  if (backend === "fzstd") return FZSTD;
  try {
    return nativeDecoder(requireBinding());
  } catch (e) {
    throw new Error(`zstd-napi cannot be loaded: ${(e as Error).message}`, { cause: e });
  }
}

/** Which backend decodes zstd in this process. */
export function zstdBackend(): ZstdBackend {
  return decoder().backend;
}

/** Decompresses a whole zstd body (one or more frames). Throws a plain Error when it is corrupt or truncated. */
export function zstdDecompress(buf: Buffer): Buffer {
  return decoder().decompress(buf);
}

/**
 * A streaming decoder handing each decoded piece to `sink`, which must not keep it (the buffer is
 * reused), before it makes the next. `end()` throws when the input stopped in the middle of a frame.
 */
export function createZstdStream(sink: (chunk: Buffer) => void): ZstdStream {
  return decoder().stream(sink);
}
