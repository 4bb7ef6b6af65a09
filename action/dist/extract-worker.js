import { createRequire as __condaopsCreateRequire } from "node:module"; const require = __condaopsCreateRequire(import.meta.url);
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/pend/index.js
var require_pend = __commonJS({
  "node_modules/pend/index.js"(exports, module) {
    module.exports = Pend;
    function Pend() {
      this.pending = 0;
      this.max = Infinity;
      this.listeners = [];
      this.waiting = [];
      this.error = null;
    }
    Pend.prototype.go = function(fn) {
      if (this.pending < this.max) {
        pendGo(this, fn);
      } else {
        this.waiting.push(fn);
      }
    };
    Pend.prototype.wait = function(cb) {
      if (this.pending === 0) {
        cb(this.error);
      } else {
        this.listeners.push(cb);
      }
    };
    Pend.prototype.hold = function() {
      return pendHold(this);
    };
    function pendHold(self) {
      self.pending += 1;
      var called = false;
      return onCb;
      function onCb(err2) {
        if (called) throw new Error("callback called twice");
        called = true;
        self.error = self.error || err2;
        self.pending -= 1;
        if (self.waiting.length > 0 && self.pending < self.max) {
          pendGo(self, self.waiting.shift());
        } else if (self.pending === 0) {
          var listeners = self.listeners;
          self.listeners = [];
          listeners.forEach(cbListener);
        }
      }
      function cbListener(listener) {
        listener(self.error);
      }
    }
    function pendGo(self, fn) {
      fn(pendHold(self));
    }
  }
});

// node_modules/yauzl/fd-slicer.js
var require_fd_slicer = __commonJS({
  "node_modules/yauzl/fd-slicer.js"(exports) {
    var fs = __require("fs");
    var util = __require("util");
    var stream = __require("stream");
    var Readable = stream.Readable;
    var PassThrough = stream.PassThrough;
    var Pend = require_pend();
    var EventEmitter = __require("events").EventEmitter;
    exports.BufferSlicer = BufferSlicer;
    exports.FdSlicer = FdSlicer;
    util.inherits(FdSlicer, EventEmitter);
    function FdSlicer(fd) {
      EventEmitter.call(this);
      this.fd = fd;
      this.pend = new Pend();
      this.pend.max = 1;
      this.refCount = 0;
    }
    FdSlicer.prototype.read = function(buffer, offset, length, position, callback) {
      var self = this;
      self.pend.go(function(cb) {
        fs.read(self.fd, buffer, offset, length, position, function(err2, bytesRead, buffer2) {
          cb();
          callback(err2, bytesRead, buffer2);
        });
      });
    };
    FdSlicer.prototype.createReadStream = function(options2) {
      return new ReadStream(this, options2);
    };
    FdSlicer.prototype.ref = function() {
      this.refCount += 1;
    };
    FdSlicer.prototype.unref = function() {
      var self = this;
      self.refCount -= 1;
      if (self.refCount < 0) throw new Error("invalid unref");
      if (self.refCount > 0) return;
      fs.close(self.fd, onCloseDone);
      function onCloseDone(err2) {
        if (err2) {
          self.emit("error", err2);
        } else {
          self.emit("close");
        }
      }
    };
    util.inherits(ReadStream, Readable);
    function ReadStream(context, options2) {
      options2 = options2 || {};
      Readable.call(this, options2);
      this.context = context;
      this.context.ref();
      this.start = options2.start || 0;
      this.endOffset = options2.end;
      this.pos = this.start;
    }
    ReadStream.prototype._read = function(n) {
      var self = this;
      var toRead = Math.min(self._readableState.highWaterMark, n);
      if (self.endOffset != null) {
        toRead = Math.min(toRead, self.endOffset - self.pos);
      }
      if (toRead <= 0) {
        self.push(null);
        this._cleanup();
        return;
      }
      self.context.pend.go(function(cb) {
        var buffer = Buffer.allocUnsafe(toRead);
        fs.read(self.context.fd, buffer, 0, toRead, self.pos, function(err2, bytesRead) {
          if (err2) {
            self.destroy(err2);
          } else if (bytesRead === 0) {
            self.push(null);
            self._cleanup();
          } else {
            self.pos += bytesRead;
            self.push(buffer.slice(0, bytesRead));
          }
          cb();
        });
      });
    };
    ReadStream.prototype._destroy = function(err2, cb) {
      this._cleanup();
      cb(err2);
    };
    ReadStream.prototype._cleanup = function() {
      if (this.context != null) {
        this.context.unref();
        this.context = null;
      }
    };
    util.inherits(BufferSlicer, EventEmitter);
    function BufferSlicer(buffer) {
      EventEmitter.call(this);
      this.refCount = 0;
      this.buffer = buffer;
    }
    BufferSlicer.prototype.read = function(buffer, offset, length, position, callback) {
      if (!(0 <= offset && offset <= buffer.length)) throw new RangeError("offset outside buffer: 0 <= " + offset + " <= " + buffer.length);
      if (position < 0) throw new RangeError("position is negative: " + position);
      if (offset + length > buffer.length) {
        length = buffer.length - offset;
      }
      if (position + length > this.buffer.length) {
        length = this.buffer.length - position;
      }
      if (length <= 0) {
        setImmediate(function() {
          callback(null, 0);
        });
        return;
      }
      this.buffer.copy(buffer, offset, position, position + length);
      setImmediate(function() {
        callback(null, length);
      });
    };
    BufferSlicer.prototype.createReadStream = function(options2) {
      options2 = options2 || {};
      var readStream = new PassThrough(options2);
      readStream.start = options2.start || 0;
      readStream.endOffset = options2.end;
      readStream.pos = readStream.endOffset || this.buffer.length;
      var entireSlice = this.buffer.slice(readStream.start, readStream.pos);
      var maxChunkSize = 65536;
      var offset = 0;
      while (true) {
        var nextOffset = offset + maxChunkSize;
        if (nextOffset >= entireSlice.length) {
          if (offset < entireSlice.length) {
            readStream.write(entireSlice.slice(offset, entireSlice.length));
          }
          break;
        }
        readStream.write(entireSlice.slice(offset, nextOffset));
        offset = nextOffset;
      }
      readStream.end();
      return readStream;
    };
    BufferSlicer.prototype.ref = function() {
      this.refCount += 1;
    };
    BufferSlicer.prototype.unref = function() {
      this.refCount -= 1;
      if (this.refCount < 0) {
        throw new Error("invalid unref");
      }
    };
  }
});

// node_modules/yauzl/crc32.js
var require_crc32 = __commonJS({
  "node_modules/yauzl/crc32.js"(exports, module) {
    var CRC_TABLE = new Int32Array([
      0,
      1996959894,
      3993919788,
      2567524794,
      124634137,
      1886057615,
      3915621685,
      2657392035,
      249268274,
      2044508324,
      3772115230,
      2547177864,
      162941995,
      2125561021,
      3887607047,
      2428444049,
      498536548,
      1789927666,
      4089016648,
      2227061214,
      450548861,
      1843258603,
      4107580753,
      2211677639,
      325883990,
      1684777152,
      4251122042,
      2321926636,
      335633487,
      1661365465,
      4195302755,
      2366115317,
      997073096,
      1281953886,
      3579855332,
      2724688242,
      1006888145,
      1258607687,
      3524101629,
      2768942443,
      901097722,
      1119000684,
      3686517206,
      2898065728,
      853044451,
      1172266101,
      3705015759,
      2882616665,
      651767980,
      1373503546,
      3369554304,
      3218104598,
      565507253,
      1454621731,
      3485111705,
      3099436303,
      671266974,
      1594198024,
      3322730930,
      2970347812,
      795835527,
      1483230225,
      3244367275,
      3060149565,
      1994146192,
      31158534,
      2563907772,
      4023717930,
      1907459465,
      112637215,
      2680153253,
      3904427059,
      2013776290,
      251722036,
      2517215374,
      3775830040,
      2137656763,
      141376813,
      2439277719,
      3865271297,
      1802195444,
      476864866,
      2238001368,
      4066508878,
      1812370925,
      453092731,
      2181625025,
      4111451223,
      1706088902,
      314042704,
      2344532202,
      4240017532,
      1658658271,
      366619977,
      2362670323,
      4224994405,
      1303535960,
      984961486,
      2747007092,
      3569037538,
      1256170817,
      1037604311,
      2765210733,
      3554079995,
      1131014506,
      879679996,
      2909243462,
      3663771856,
      1141124467,
      855842277,
      2852801631,
      3708648649,
      1342533948,
      654459306,
      3188396048,
      3373015174,
      1466479909,
      544179635,
      3110523913,
      3462522015,
      1591671054,
      702138776,
      2966460450,
      3352799412,
      1504918807,
      783551873,
      3082640443,
      3233442989,
      3988292384,
      2596254646,
      62317068,
      1957810842,
      3939845945,
      2647816111,
      81470997,
      1943803523,
      3814918930,
      2489596804,
      225274430,
      2053790376,
      3826175755,
      2466906013,
      167816743,
      2097651377,
      4027552580,
      2265490386,
      503444072,
      1762050814,
      4150417245,
      2154129355,
      426522225,
      1852507879,
      4275313526,
      2312317920,
      282753626,
      1742555852,
      4189708143,
      2394877945,
      397917763,
      1622183637,
      3604390888,
      2714866558,
      953729732,
      1340076626,
      3518719985,
      2797360999,
      1068828381,
      1219638859,
      3624741850,
      2936675148,
      906185462,
      1090812512,
      3747672003,
      2825379669,
      829329135,
      1181335161,
      3412177804,
      3160834842,
      628085408,
      1382605366,
      3423369109,
      3138078467,
      570562233,
      1426400815,
      3317316542,
      2998733608,
      733239954,
      1555261956,
      3268935591,
      3050360625,
      752459403,
      1541320221,
      2607071920,
      3965973030,
      1969922972,
      40735498,
      2617837225,
      3943577151,
      1913087877,
      83908371,
      2512341634,
      3803740692,
      2075208622,
      213261112,
      2463272603,
      3855990285,
      2094854071,
      198958881,
      2262029012,
      4057260610,
      1759359992,
      534414190,
      2176718541,
      4139329115,
      1873836001,
      414664567,
      2282248934,
      4279200368,
      1711684554,
      285281116,
      2405801727,
      4167216745,
      1634467795,
      376229701,
      2685067896,
      3608007406,
      1308918612,
      956543938,
      2808555105,
      3495958263,
      1231636301,
      1047427035,
      2932959818,
      3654703836,
      1088359270,
      936918e3,
      2847714899,
      3736837829,
      1202900863,
      817233897,
      3183342108,
      3401237130,
      1404277552,
      615818150,
      3134207493,
      3453421203,
      1423857449,
      601450431,
      3009837614,
      3294710456,
      1567103746,
      711928724,
      3020668471,
      3272380065,
      1510334235,
      755167117
    ]);
    function crc32(buf) {
      let crc = -1;
      for (let x of buf) {
        crc = CRC_TABLE[(crc ^ x) & 255] ^ crc >>> 8;
      }
      return (crc ^ -1) >>> 0;
    }
    module.exports = crc32;
  }
});

// node_modules/yauzl/index.js
var require_yauzl = __commonJS({
  "node_modules/yauzl/index.js"(exports) {
    var fs = __require("fs");
    var zlib = __require("zlib");
    var fd_slicer = require_fd_slicer();
    var util = __require("util");
    var EventEmitter = __require("events").EventEmitter;
    var Transform = __require("stream").Transform;
    var PassThrough = __require("stream").PassThrough;
    var Writable = __require("stream").Writable;
    var crc32 = typeof zlib.crc32 === "function" ? zlib.crc32 : require_crc32();
    exports.open = open;
    exports.fromFd = fromFd;
    exports.fromBuffer = fromBuffer;
    exports.fromRandomAccessReader = fromRandomAccessReader;
    exports.openPromise = openPromise;
    exports.fromFdPromise = fromFdPromise;
    exports.fromBufferPromise = fromBufferPromise;
    exports.fromRandomAccessReaderPromise = fromRandomAccessReaderPromise;
    exports.dosDateTimeToDate = dosDateTimeToDate;
    exports.getFileNameLowLevel = getFileNameLowLevel;
    exports.validateFileName = validateFileName;
    exports.parseExtraFields = parseExtraFields;
    exports.ZipFile = ZipFile;
    exports.Entry = Entry;
    exports.LocalFileHeader = LocalFileHeader;
    exports.RandomAccessReader = RandomAccessReader;
    function openPromise(path, options2) {
      return new Promise((resolve, reject) => {
        open(path, { ...options2, lazyEntries: true }, function(err2, zipfile) {
          if (err2) return reject(err2);
          resolve(zipfile);
        });
      });
    }
    function fromFdPromise(fd, options2) {
      return new Promise((resolve, reject) => {
        fromFd(fd, { ...options2, lazyEntries: true }, function(err2, zipfile) {
          if (err2) return reject(err2);
          resolve(zipfile);
        });
      });
    }
    function fromBufferPromise(buffer, options2) {
      return new Promise((resolve, reject) => {
        fromBuffer(buffer, { ...options2, lazyEntries: true }, function(err2, zipfile) {
          if (err2) return reject(err2);
          resolve(zipfile);
        });
      });
    }
    function fromRandomAccessReaderPromise(reader, totalSize, options2) {
      return new Promise((resolve, reject) => {
        fromRandomAccessReader(reader, totalSize, { ...options2, lazyEntries: true }, function(err2, zipfile) {
          if (err2) return reject(err2);
          resolve(zipfile);
        });
      });
    }
    function open(path, options2, callback) {
      if (typeof options2 === "function") {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) options2 = {};
      if (options2.autoClose == null) options2.autoClose = true;
      if (options2.lazyEntries == null) options2.lazyEntries = false;
      if (options2.decodeStrings == null) options2.decodeStrings = true;
      if (options2.validateEntrySizes == null) options2.validateEntrySizes = true;
      if (options2.strictFileNames == null) options2.strictFileNames = false;
      if (callback == null) callback = defaultCallback;
      fs.open(path, "r", function(err2, fd) {
        if (err2) return callback(err2);
        fromFd(fd, options2, function(err3, zipfile) {
          if (err3) fs.close(fd, defaultCallback);
          callback(err3, zipfile);
        });
      });
    }
    function fromFd(fd, options2, callback) {
      if (typeof options2 === "function") {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) options2 = {};
      if (options2.autoClose == null) options2.autoClose = false;
      if (options2.lazyEntries == null) options2.lazyEntries = false;
      if (options2.decodeStrings == null) options2.decodeStrings = true;
      if (options2.validateEntrySizes == null) options2.validateEntrySizes = true;
      if (options2.strictFileNames == null) options2.strictFileNames = false;
      if (callback == null) callback = defaultCallback;
      fs.fstat(fd, function(err2, stats) {
        if (err2) return callback(err2);
        var reader = new fd_slicer.FdSlicer(fd);
        fromRandomAccessReader(reader, stats.size, options2, callback);
      });
    }
    function fromBuffer(buffer, options2, callback) {
      if (typeof options2 === "function") {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) options2 = {};
      options2.autoClose = false;
      if (options2.lazyEntries == null) options2.lazyEntries = false;
      if (options2.decodeStrings == null) options2.decodeStrings = true;
      if (options2.validateEntrySizes == null) options2.validateEntrySizes = true;
      if (options2.strictFileNames == null) options2.strictFileNames = false;
      var reader = new fd_slicer.BufferSlicer(buffer);
      fromRandomAccessReader(reader, buffer.length, options2, callback);
    }
    function fromRandomAccessReader(reader, totalSize, options2, callback) {
      if (typeof options2 === "function") {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) options2 = {};
      if (options2.autoClose == null) options2.autoClose = true;
      if (options2.lazyEntries == null) options2.lazyEntries = false;
      if (options2.decodeStrings == null) options2.decodeStrings = true;
      var decodeStrings = !!options2.decodeStrings;
      if (options2.validateEntrySizes == null) options2.validateEntrySizes = true;
      if (options2.strictFileNames == null) options2.strictFileNames = false;
      if (callback == null) callback = defaultCallback;
      if (typeof totalSize !== "number") throw new Error("expected totalSize parameter to be a number");
      if (totalSize > Number.MAX_SAFE_INTEGER) {
        throw new Error("zip file too large. only file sizes up to 2^52 are supported due to JavaScript's Number type being an IEEE 754 double.");
      }
      reader.ref();
      var eocdrWithoutCommentSize = 22;
      var zip64EocdlSize = 20;
      var maxCommentSize = 65535;
      var bufferSize = Math.min(zip64EocdlSize + eocdrWithoutCommentSize + maxCommentSize, totalSize);
      var buffer = newBuffer(bufferSize);
      var bufferReadStart = totalSize - buffer.length;
      readAndAssertNoEof(reader, buffer, 0, bufferSize, bufferReadStart, function(err2) {
        if (err2) return callback(err2);
        for (var i = bufferSize - eocdrWithoutCommentSize; i >= 0; i -= 1) {
          if (buffer.readUInt32LE(i) !== 101010256) continue;
          var eocdrBuffer = buffer.subarray(i);
          var diskNumber = eocdrBuffer.readUInt16LE(4);
          var entryCount = eocdrBuffer.readUInt16LE(10);
          var centralDirectoryOffset = eocdrBuffer.readUInt32LE(16);
          var commentLength = eocdrBuffer.readUInt16LE(20);
          var expectedCommentLength = eocdrBuffer.length - eocdrWithoutCommentSize;
          if (commentLength !== expectedCommentLength) {
            return callback(new Error("Invalid comment length. Expected: " + expectedCommentLength + ". Found: " + commentLength + ". Are there extra bytes at the end of the file? Or is the end of central dir signature `PK\u263A\u263B` in the comment?"));
          }
          var comment = decodeStrings ? decodeBuffer(eocdrBuffer.subarray(22), false) : eocdrBuffer.subarray(22);
          if (i - zip64EocdlSize >= 0 && buffer.readUInt32LE(i - zip64EocdlSize) === 117853008) {
            var zip64EocdlBuffer = buffer.subarray(i - zip64EocdlSize, i - zip64EocdlSize + zip64EocdlSize);
            var zip64EocdrOffset = readUInt64LE(zip64EocdlBuffer, 8);
            var zip64EocdrBuffer = newBuffer(56);
            return readAndAssertNoEof(reader, zip64EocdrBuffer, 0, zip64EocdrBuffer.length, zip64EocdrOffset, function(err3) {
              if (err3) return callback(err3);
              if (zip64EocdrBuffer.readUInt32LE(0) !== 101075792) {
                return callback(new Error("invalid zip64 end of central directory record signature"));
              }
              diskNumber = zip64EocdrBuffer.readUInt32LE(16);
              if (diskNumber !== 0) {
                return callback(new Error("multi-disk zip files are not supported: found disk number: " + diskNumber));
              }
              entryCount = readUInt64LE(zip64EocdrBuffer, 32);
              centralDirectoryOffset = readUInt64LE(zip64EocdrBuffer, 48);
              return callback(null, new ZipFile(reader, centralDirectoryOffset, totalSize, entryCount, comment, options2.autoClose, options2.lazyEntries, decodeStrings, options2.validateEntrySizes, options2.strictFileNames));
            });
          }
          if (diskNumber !== 0) {
            return callback(new Error("multi-disk zip files are not supported: found disk number: " + diskNumber));
          }
          return callback(null, new ZipFile(reader, centralDirectoryOffset, totalSize, entryCount, comment, options2.autoClose, options2.lazyEntries, decodeStrings, options2.validateEntrySizes, options2.strictFileNames));
        }
        callback(new Error("End of central directory record signature not found. Either not a zip file, or file is truncated."));
      });
    }
    util.inherits(ZipFile, EventEmitter);
    function ZipFile(reader, centralDirectoryOffset, fileSize, entryCount, comment, autoClose, lazyEntries, decodeStrings, validateEntrySizes, strictFileNames) {
      var self = this;
      EventEmitter.call(self);
      self.reader = reader;
      self.reader.on("error", function(err2) {
        emitError(self, err2);
      });
      self.reader.once("close", function() {
        self.emit("close");
      });
      self.readEntryCursor = centralDirectoryOffset;
      self.fileSize = fileSize;
      self.entryCount = entryCount;
      self.comment = comment;
      self.entriesRead = 0;
      self.autoClose = !!autoClose;
      self.lazyEntries = !!lazyEntries;
      self.decodeStrings = !!decodeStrings;
      self.validateEntrySizes = !!validateEntrySizes;
      self.strictFileNames = !!strictFileNames;
      self.isOpen = true;
      self.emittedError = false;
      self.hasEachEntryBeenCalled = false;
      if (!self.lazyEntries) self._readEntry();
    }
    ZipFile.prototype.close = function() {
      if (!this.isOpen) return;
      this.isOpen = false;
      this.reader.unref();
    };
    function emitErrorAndAutoClose(self, err2) {
      if (self.autoClose) self.close();
      emitError(self, err2);
    }
    function emitError(self, err2) {
      if (self.emittedError) return;
      self.emittedError = true;
      self.emit("error", err2);
    }
    ZipFile.prototype.readEntry = function() {
      if (!this.lazyEntries) throw new Error("readEntry() called without lazyEntries:true");
      this._readEntry();
    };
    ZipFile.prototype._readEntry = function() {
      var self = this;
      if (self.entryCount === self.entriesRead) {
        setImmediate(function() {
          if (self.autoClose) self.close();
          if (self.emittedError) return;
          self.emit("end");
        });
        return;
      }
      if (self.emittedError) return;
      var buffer = newBuffer(46);
      readAndAssertNoEof(self.reader, buffer, 0, buffer.length, self.readEntryCursor, function(err2) {
        if (err2) return emitErrorAndAutoClose(self, err2);
        if (self.emittedError) return;
        var entry = new Entry();
        var signature = buffer.readUInt32LE(0);
        if (signature !== 33639248) return emitErrorAndAutoClose(self, new Error("invalid central directory file header signature: 0x" + signature.toString(16)));
        entry.versionMadeBy = buffer.readUInt16LE(4);
        entry.versionNeededToExtract = buffer.readUInt16LE(6);
        entry.generalPurposeBitFlag = buffer.readUInt16LE(8);
        entry.compressionMethod = buffer.readUInt16LE(10);
        entry.lastModFileTime = buffer.readUInt16LE(12);
        entry.lastModFileDate = buffer.readUInt16LE(14);
        entry.crc32 = buffer.readUInt32LE(16);
        entry.compressedSize = buffer.readUInt32LE(20);
        entry.uncompressedSize = buffer.readUInt32LE(24);
        entry.fileNameLength = buffer.readUInt16LE(28);
        entry.extraFieldLength = buffer.readUInt16LE(30);
        entry.fileCommentLength = buffer.readUInt16LE(32);
        entry.internalFileAttributes = buffer.readUInt16LE(36);
        entry.externalFileAttributes = buffer.readUInt32LE(38);
        entry.relativeOffsetOfLocalHeader = buffer.readUInt32LE(42);
        if (entry.generalPurposeBitFlag & 64) return emitErrorAndAutoClose(self, new Error("strong encryption is not supported"));
        self.readEntryCursor += 46;
        buffer = newBuffer(entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength);
        readAndAssertNoEof(self.reader, buffer, 0, buffer.length, self.readEntryCursor, function(err3) {
          if (err3) return emitErrorAndAutoClose(self, err3);
          if (self.emittedError) return;
          entry.fileNameRaw = buffer.subarray(0, entry.fileNameLength);
          var fileCommentStart = entry.fileNameLength + entry.extraFieldLength;
          entry.extraFieldRaw = buffer.subarray(entry.fileNameLength, fileCommentStart);
          entry.fileCommentRaw = buffer.subarray(fileCommentStart, fileCommentStart + entry.fileCommentLength);
          try {
            entry.extraFields = parseExtraFields(entry.extraFieldRaw);
          } catch (err4) {
            return emitErrorAndAutoClose(self, err4);
          }
          if (self.decodeStrings) {
            var isUtf8 = (entry.generalPurposeBitFlag & 2048) !== 0;
            entry.fileComment = decodeBuffer(entry.fileCommentRaw, isUtf8);
            entry.fileName = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, self.strictFileNames);
            var errorMessage = validateFileName(entry.fileName);
            if (errorMessage != null) return emitErrorAndAutoClose(self, new Error(errorMessage));
          } else {
            entry.fileComment = entry.fileCommentRaw;
            entry.fileName = entry.fileNameRaw;
          }
          entry.comment = entry.fileComment;
          self.readEntryCursor += buffer.length;
          self.entriesRead += 1;
          for (var i = 0; i < entry.extraFields.length; i++) {
            var extraField = entry.extraFields[i];
            if (extraField.id !== 1) continue;
            var zip64EiefBuffer = extraField.data;
            var index = 0;
            if (entry.uncompressedSize === 4294967295) {
              if (index + 8 > zip64EiefBuffer.length) {
                return emitErrorAndAutoClose(self, new Error("zip64 extended information extra field does not include uncompressed size"));
              }
              entry.uncompressedSize = readUInt64LE(zip64EiefBuffer, index);
              index += 8;
            }
            if (entry.compressedSize === 4294967295) {
              if (index + 8 > zip64EiefBuffer.length) {
                return emitErrorAndAutoClose(self, new Error("zip64 extended information extra field does not include compressed size"));
              }
              entry.compressedSize = readUInt64LE(zip64EiefBuffer, index);
              index += 8;
            }
            if (entry.relativeOffsetOfLocalHeader === 4294967295) {
              if (index + 8 > zip64EiefBuffer.length) {
                return emitErrorAndAutoClose(self, new Error("zip64 extended information extra field does not include relative header offset"));
              }
              entry.relativeOffsetOfLocalHeader = readUInt64LE(zip64EiefBuffer, index);
              index += 8;
            }
            break;
          }
          if (self.validateEntrySizes && entry.compressionMethod === 0) {
            var expectedCompressedSize = entry.uncompressedSize;
            if (entry.isEncrypted()) {
              expectedCompressedSize += 12;
            }
            if (entry.compressedSize !== expectedCompressedSize) {
              var msg = "compressed/uncompressed size mismatch for stored file: " + entry.compressedSize + " != " + entry.uncompressedSize;
              return emitErrorAndAutoClose(self, new Error(msg));
            }
          }
          self.emit("entry", entry);
          if (!self.lazyEntries) self._readEntry();
        });
      });
    };
    ZipFile.prototype.eachEntry = function() {
      const self = this;
      if (!self.lazyEntries) throw new Error("eachEntry() requires lazyEntries: true");
      if (self.hasEachEntryBeenCalled) throw new Error("eachEntry() must only be called once per ZipFile");
      self.hasEachEntryBeenCalled = true;
      let pendingResolveReject = null;
      self.on("entry", onEntry);
      self.on("end", onEnd);
      self.on("error", onError);
      function cleanup() {
        self.removeListener("entry", onEntry);
        self.removeListener("end", onEnd);
        self.removeListener("error", onError);
        if (self.autoClose) self.close();
      }
      function onEntry(entry) {
        let { resolve } = pendingResolveReject;
        pendingResolveReject = null;
        resolve({ value: entry });
      }
      function onEnd() {
        let { resolve } = pendingResolveReject;
        pendingResolveReject = null;
        cleanup();
        resolve({ done: true });
      }
      function onError(err2) {
        let { reject } = pendingResolveReject;
        pendingResolveReject = null;
        cleanup();
        reject(err2);
      }
      return {
        [Symbol.asyncIterator]() {
          return this;
        },
        next() {
          const promise = new Promise((resolve, reject) => {
            if (pendingResolveReject != null) throw new Error("next() called before previous Promise was resolved.");
            pendingResolveReject = { resolve, reject };
          });
          self.readEntry();
          return promise;
        },
        return(value) {
          cleanup();
          return Promise.resolve({ done: true, value });
        },
        throw(value) {
          cleanup();
          return Promise.reject(value);
        }
      };
    };
    ZipFile.prototype.openReadStream = function(entry, options2, callback) {
      var self = this;
      var relativeStart = 0;
      var relativeEnd = entry.compressedSize;
      if (callback == null) {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) {
        options2 = {};
      } else {
        if (options2.decodeFileData === false) {
          if (options2.decrypt != null) {
            throw new Error("cannot use options.decrypt when options.decodeFileData === false");
          }
          if (options2.decompress != null) {
            throw new Error("cannot use options.decompress when options.decodeFileData === false");
          }
        } else {
          if (options2.decrypt != null) {
            if (!entry.isEncrypted()) {
              throw new Error("options.decrypt can only be specified for encrypted entries. See also option decodeFileData.");
            }
            if (options2.decrypt !== false) throw new Error("invalid options.decrypt value: " + options2.decrypt);
            if (entry.isCompressed()) {
              if (options2.decompress !== false) throw new Error("entry is encrypted and compressed, and options.decompress !== false. See also option decodeFileData.");
            }
          }
          if (options2.decompress != null) {
            if (!entry.isCompressed()) {
              throw new Error("options.decompress can only be specified for compressed entries. See also option decodeFileData.");
            }
            if (!(options2.decompress === false || options2.decompress === true)) {
              throw new Error("invalid options.decompress value: " + options2.decompress);
            }
            decompress2 = options2.decompress;
          }
        }
        if (options2.start != null) {
          relativeStart = options2.start;
          if (relativeStart < 0) throw new Error("options.start < 0");
          if (relativeStart > entry.compressedSize) throw new Error("options.start > entry.compressedSize");
        }
        if (options2.end != null) {
          relativeEnd = options2.end;
          if (relativeEnd < 0) throw new Error("options.end < 0");
          if (relativeEnd > entry.compressedSize) throw new Error("options.end > entry.compressedSize");
          if (relativeEnd < relativeStart) throw new Error("options.end < options.start");
        }
      }
      var rawMode = options2.decodeFileData === false || // Explicitly requested raw.
      (entry.compressionMethod === 0 || // Naturally without compression.
      entry.compressionMethod === 8 && options2.decompress === false) && (!entry.isEncrypted() || // Naturally without encryption.
      options2.decrypt === false);
      if (options2.start != null || options2.end != null) {
        if (!rawMode) throw new Error("start/end range require options.decodeFileData === false for non-trivial encoded entries.");
      }
      if (!self.isOpen) return callback(new Error("closed"));
      if (entry.isEncrypted() && !rawMode) {
        if (options2.decrypt !== false) return callback(new Error("entry is encrypted, and options.decodeFileData !== false"));
      }
      var decompress2;
      if (rawMode) {
        decompress2 = false;
      } else if (entry.compressionMethod === 8) {
        decompress2 = options2.decodeFileData !== true;
      } else {
        return callback(new Error("unsupported compression method: " + entry.compressionMethod));
      }
      self.readLocalFileHeader(entry, { minimal: true }, function(err2, localFileHeader) {
        if (err2) return callback(err2);
        self.openReadStreamLowLevel(
          localFileHeader.fileDataStart,
          entry.compressedSize,
          relativeStart,
          relativeEnd,
          decompress2,
          entry.uncompressedSize,
          callback
        );
      });
    };
    ZipFile.prototype.openReadStreamLowLevel = function(fileDataStart, compressedSize, relativeStart, relativeEnd, decompress2, uncompressedSize, callback) {
      var self = this;
      var fileDataEnd = fileDataStart + compressedSize;
      var readStream = self.reader.createReadStream({
        start: fileDataStart + relativeStart,
        end: fileDataStart + relativeEnd
      });
      var endpointStream = readStream;
      if (decompress2) {
        var destroyed = false;
        var inflateFilter = zlib.createInflateRaw();
        readStream.on("error", function(err2) {
          setImmediate(function() {
            if (!destroyed) inflateFilter.emit("error", err2);
          });
        });
        readStream.pipe(inflateFilter);
        if (self.validateEntrySizes) {
          endpointStream = new AssertByteCountStream(uncompressedSize);
          inflateFilter.on("error", function(err2) {
            setImmediate(function() {
              if (!destroyed) endpointStream.emit("error", err2);
            });
          });
          inflateFilter.pipe(endpointStream);
        } else {
          endpointStream = inflateFilter;
        }
        installDestroyFn(endpointStream, function() {
          destroyed = true;
          if (inflateFilter !== endpointStream) inflateFilter.unpipe(endpointStream);
          readStream.unpipe(inflateFilter);
          readStream.destroy();
        });
      }
      callback(null, endpointStream);
    };
    ZipFile.prototype.readLocalFileHeader = function(entry, options2, callback) {
      var self = this;
      if (callback == null) {
        callback = options2;
        options2 = null;
      }
      if (options2 == null) options2 = {};
      self.reader.ref();
      var buffer = newBuffer(30);
      readAndAssertNoEof(self.reader, buffer, 0, buffer.length, entry.relativeOffsetOfLocalHeader, function(err2) {
        try {
          if (err2) return callback(err2);
          var signature = buffer.readUInt32LE(0);
          if (signature !== 67324752) {
            return callback(new Error("invalid local file header signature: 0x" + signature.toString(16)));
          }
          var fileNameLength = buffer.readUInt16LE(26);
          var extraFieldLength = buffer.readUInt16LE(28);
          var fileDataStart = entry.relativeOffsetOfLocalHeader + 30 + fileNameLength + extraFieldLength;
          if (fileDataStart + entry.compressedSize > self.fileSize) {
            return callback(new Error("file data overflows file bounds: " + fileDataStart + " + " + entry.compressedSize + " > " + self.fileSize));
          }
          if (options2.minimal) {
            return callback(null, { fileDataStart });
          }
          var localFileHeader = new LocalFileHeader();
          localFileHeader.fileDataStart = fileDataStart;
          localFileHeader.versionNeededToExtract = buffer.readUInt16LE(4);
          localFileHeader.generalPurposeBitFlag = buffer.readUInt16LE(6);
          localFileHeader.compressionMethod = buffer.readUInt16LE(8);
          localFileHeader.lastModFileTime = buffer.readUInt16LE(10);
          localFileHeader.lastModFileDate = buffer.readUInt16LE(12);
          localFileHeader.crc32 = buffer.readUInt32LE(14);
          localFileHeader.compressedSize = buffer.readUInt32LE(18);
          localFileHeader.uncompressedSize = buffer.readUInt32LE(22);
          localFileHeader.fileNameLength = fileNameLength;
          localFileHeader.extraFieldLength = extraFieldLength;
          buffer = newBuffer(fileNameLength + extraFieldLength);
          self.reader.ref();
          readAndAssertNoEof(self.reader, buffer, 0, buffer.length, entry.relativeOffsetOfLocalHeader + 30, function(err3) {
            try {
              if (err3) return callback(err3);
              localFileHeader.fileName = buffer.subarray(0, fileNameLength);
              localFileHeader.extraField = buffer.subarray(fileNameLength);
              return callback(null, localFileHeader);
            } finally {
              self.reader.unref();
            }
          });
        } finally {
          self.reader.unref();
        }
      });
    };
    ZipFile.prototype.openReadStreamPromise = function(entry, options2) {
      return new Promise((resolve, reject) => {
        this.openReadStream(entry, options2, function(err2, readStream) {
          if (err2) return reject(err2);
          resolve(readStream);
        });
      });
    };
    ZipFile.prototype.openReadStreamLowLevelPromise = function(fileDataStart, compressedSize, relativeStart, relativeEnd, decompress2, uncompressedSize) {
      return new Promise((resolve, reject) => {
        this.openReadStream(fileDataStart, compressedSize, relativeStart, relativeEnd, decompress2, uncompressedSize, function(err2, readStream) {
          if (err2) return reject(err2);
          resolve(readStream);
        });
      });
    };
    ZipFile.prototype.readLocalFileHeaderPromise = function(entry, options2) {
      return new Promise((resolve, reject) => {
        this.readLocalFileHeader(entry, options2, function(err2, localFileHeader) {
          if (err2) return reject(err2);
          resolve(localFileHeader);
        });
      });
    };
    function Entry() {
    }
    Entry.prototype.getLastModDate = function(options2) {
      if (options2 == null) options2 = {};
      if (!options2.forceDosFormat) {
        for (var i = 0; i < this.extraFields.length; i++) {
          var extraField = this.extraFields[i];
          if (extraField.id === 21589) {
            var data = extraField.data;
            if (data.length < 5) continue;
            var flags = data[0];
            var HAS_MTIME = 1;
            if (!(flags & HAS_MTIME)) continue;
            var posixTimestamp = data.readInt32LE(1);
            return new Date(posixTimestamp * 1e3);
          } else if (extraField.id === 10) {
            var data = extraField.data;
            if (data.length !== 32) continue;
            if (data.readUInt16LE(4) !== 1) continue;
            if (data.readUInt16LE(6) !== 24) continue;
            var hundredNanoSecondsSince1601 = data.readUInt32LE(8) + 4294967296 * data.readInt32LE(12);
            var millisecondsSince1970 = hundredNanoSecondsSince1601 / 1e4 - 116444736e5;
            return new Date(millisecondsSince1970);
          }
        }
      }
      return dosDateTimeToDate(this.lastModFileDate, this.lastModFileTime, options2.timezone);
    };
    Entry.prototype.canDecodeFileData = function() {
      return !this.isEncrypted() && (this.compressionMethod === 0 || this.compressionMethod === 8);
    };
    Entry.prototype.isEncrypted = function() {
      return (this.generalPurposeBitFlag & 1) !== 0;
    };
    Entry.prototype.isCompressed = function() {
      return this.compressionMethod === 8;
    };
    function LocalFileHeader() {
    }
    function dosDateTimeToDate(date, time, timezone) {
      var day = date & 31;
      var month = (date >> 5 & 15) - 1;
      var year = (date >> 9 & 127) + 1980;
      var millisecond = 0;
      var second = (time & 31) * 2;
      var minute = time >> 5 & 63;
      var hour = time >> 11 & 31;
      if (timezone == null || timezone === "local") {
        return new Date(year, month, day, hour, minute, second, millisecond);
      } else if (timezone === "UTC") {
        return new Date(Date.UTC(year, month, day, hour, minute, second, millisecond));
      } else {
        throw new Error("unrecognized options.timezone: " + options.timezone);
      }
    }
    function getFileNameLowLevel(generalPurposeBitFlag, fileNameBuffer, extraFields, strictFileNames) {
      var fileName = null;
      for (var i = 0; i < extraFields.length; i++) {
        var extraField = extraFields[i];
        if (extraField.id === 28789) {
          if (extraField.data.length < 6) {
            continue;
          }
          if (extraField.data.readUInt8(0) !== 1) {
            continue;
          }
          var oldNameCrc32 = extraField.data.readUInt32LE(1);
          if (crc32(fileNameBuffer) !== oldNameCrc32) {
            continue;
          }
          fileName = decodeBuffer(extraField.data.subarray(5), true);
          break;
        }
      }
      if (fileName == null) {
        var isUtf8 = (generalPurposeBitFlag & 2048) !== 0;
        fileName = decodeBuffer(fileNameBuffer, isUtf8);
      }
      if (!strictFileNames) {
        fileName = fileName.replace(/\\/g, "/");
      }
      return fileName;
    }
    function validateFileName(fileName) {
      if (fileName.indexOf("\\") !== -1) {
        return "invalid characters in fileName: " + fileName;
      }
      if (/^[a-zA-Z]:/.test(fileName) || /^\//.test(fileName)) {
        return "absolute path: " + fileName;
      }
      if (fileName.split("/").indexOf("..") !== -1) {
        return "invalid relative path: " + fileName;
      }
      return null;
    }
    function parseExtraFields(extraFieldBuffer) {
      var extraFields = [];
      var i = 0;
      while (i < extraFieldBuffer.length - 3) {
        var headerId = extraFieldBuffer.readUInt16LE(i + 0);
        var dataSize = extraFieldBuffer.readUInt16LE(i + 2);
        var dataStart = i + 4;
        var dataEnd = dataStart + dataSize;
        if (dataEnd > extraFieldBuffer.length) throw new Error("extra field length exceeds extra field buffer size");
        var dataBuffer = extraFieldBuffer.subarray(dataStart, dataEnd);
        extraFields.push({
          id: headerId,
          data: dataBuffer
        });
        i = dataEnd;
      }
      return extraFields;
    }
    function readAndAssertNoEof(reader, buffer, offset, length, position, callback) {
      if (length === 0) {
        return setImmediate(function() {
          callback(null, newBuffer(0));
        });
      }
      reader.read(buffer, offset, length, position, function(err2, bytesRead) {
        if (err2) return callback(err2);
        if (bytesRead < length) {
          return callback(new Error("unexpected EOF"));
        }
        callback();
      });
    }
    util.inherits(AssertByteCountStream, Transform);
    function AssertByteCountStream(byteCount) {
      Transform.call(this);
      this.actualByteCount = 0;
      this.expectedByteCount = byteCount;
    }
    AssertByteCountStream.prototype._transform = function(chunk, encoding, cb) {
      this.actualByteCount += chunk.length;
      if (this.actualByteCount > this.expectedByteCount) {
        var msg = "too many bytes in the stream. expected " + this.expectedByteCount + ". got at least " + this.actualByteCount;
        return cb(new Error(msg));
      }
      cb(null, chunk);
    };
    AssertByteCountStream.prototype._flush = function(cb) {
      if (this.actualByteCount < this.expectedByteCount) {
        var msg = "not enough bytes in the stream. expected " + this.expectedByteCount + ". got only " + this.actualByteCount;
        return cb(new Error(msg));
      }
      cb();
    };
    util.inherits(RandomAccessReader, EventEmitter);
    function RandomAccessReader() {
      EventEmitter.call(this);
      this.refCount = 0;
    }
    RandomAccessReader.prototype.ref = function() {
      this.refCount += 1;
    };
    RandomAccessReader.prototype.unref = function() {
      var self = this;
      self.refCount -= 1;
      if (self.refCount > 0) return;
      if (self.refCount < 0) throw new Error("invalid unref");
      self.close(onCloseDone);
      function onCloseDone(err2) {
        if (err2) return self.emit("error", err2);
        self.emit("close");
      }
    };
    RandomAccessReader.prototype.createReadStream = function(options2) {
      if (options2 == null) options2 = {};
      var start = options2.start;
      var end = options2.end;
      if (start === end) {
        var emptyStream = new PassThrough();
        setImmediate(function() {
          emptyStream.end();
        });
        return emptyStream;
      }
      var stream = this._readStreamForRange(start, end);
      var destroyed = false;
      var refUnrefFilter = new RefUnrefFilter(this);
      stream.on("error", function(err2) {
        setImmediate(function() {
          if (!destroyed) refUnrefFilter.emit("error", err2);
        });
      });
      installDestroyFn(refUnrefFilter, function() {
        stream.unpipe(refUnrefFilter);
        refUnrefFilter.unref();
        stream.destroy();
      });
      var byteCounter = new AssertByteCountStream(end - start);
      refUnrefFilter.on("error", function(err2) {
        setImmediate(function() {
          if (!destroyed) byteCounter.emit("error", err2);
        });
      });
      installDestroyFn(byteCounter, function() {
        destroyed = true;
        refUnrefFilter.unpipe(byteCounter);
        refUnrefFilter.destroy();
      });
      return stream.pipe(refUnrefFilter).pipe(byteCounter);
    };
    RandomAccessReader.prototype._readStreamForRange = function(start, end) {
      throw new Error("not implemented");
    };
    RandomAccessReader.prototype.read = function(buffer, offset, length, position, callback) {
      var readStream = this.createReadStream({ start: position, end: position + length });
      var writeStream = new Writable();
      var written = 0;
      writeStream._write = function(chunk, encoding, cb) {
        chunk.copy(buffer, offset + written, 0, chunk.length);
        written += chunk.length;
        cb();
      };
      writeStream.on("finish", callback);
      readStream.on("error", function(error) {
        callback(error);
      });
      readStream.pipe(writeStream);
    };
    RandomAccessReader.prototype.close = function(callback) {
      setImmediate(callback);
    };
    util.inherits(RefUnrefFilter, PassThrough);
    function RefUnrefFilter(context) {
      PassThrough.call(this);
      this.context = context;
      this.context.ref();
      this.unreffedYet = false;
    }
    RefUnrefFilter.prototype._flush = function(cb) {
      this.unref();
      cb();
    };
    RefUnrefFilter.prototype.unref = function(cb) {
      if (this.unreffedYet) return;
      this.unreffedYet = true;
      this.context.unref();
    };
    var cp437 = "\0\u263A\u263B\u2665\u2666\u2663\u2660\u2022\u25D8\u25CB\u25D9\u2642\u2640\u266A\u266B\u263C\u25BA\u25C4\u2195\u203C\xB6\xA7\u25AC\u21A8\u2191\u2193\u2192\u2190\u221F\u2194\u25B2\u25BC !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\u2302\xC7\xFC\xE9\xE2\xE4\xE0\xE5\xE7\xEA\xEB\xE8\xEF\xEE\xEC\xC4\xC5\xC9\xE6\xC6\xF4\xF6\xF2\xFB\xF9\xFF\xD6\xDC\xA2\xA3\xA5\u20A7\u0192\xE1\xED\xF3\xFA\xF1\xD1\xAA\xBA\xBF\u2310\xAC\xBD\xBC\xA1\xAB\xBB\u2591\u2592\u2593\u2502\u2524\u2561\u2562\u2556\u2555\u2563\u2551\u2557\u255D\u255C\u255B\u2510\u2514\u2534\u252C\u251C\u2500\u253C\u255E\u255F\u255A\u2554\u2569\u2566\u2560\u2550\u256C\u2567\u2568\u2564\u2565\u2559\u2558\u2552\u2553\u256B\u256A\u2518\u250C\u2588\u2584\u258C\u2590\u2580\u03B1\xDF\u0393\u03C0\u03A3\u03C3\xB5\u03C4\u03A6\u0398\u03A9\u03B4\u221E\u03C6\u03B5\u2229\u2261\xB1\u2265\u2264\u2320\u2321\xF7\u2248\xB0\u2219\xB7\u221A\u207F\xB2\u25A0\xA0";
    function decodeBuffer(buffer, isUtf8) {
      if (isUtf8) {
        return buffer.toString("utf8");
      } else {
        var result = "";
        for (var i = 0; i < buffer.length; i++) {
          result += cp437[buffer[i]];
        }
        return result;
      }
    }
    function readUInt64LE(buffer, offset) {
      var lower32 = buffer.readUInt32LE(offset);
      var upper32 = buffer.readUInt32LE(offset + 4);
      return upper32 * 4294967296 + lower32;
    }
    var newBuffer;
    if (typeof Buffer.allocUnsafe === "function") {
      newBuffer = function(len) {
        return Buffer.allocUnsafe(len);
      };
    } else {
      newBuffer = function(len) {
        return new Buffer(len);
      };
    }
    function installDestroyFn(stream, fn) {
      if (typeof stream.destroy === "function") {
        stream._destroy = function(err2, cb) {
          fn();
          if (cb != null) cb(err2);
        };
      } else {
        stream.destroy = fn;
      }
    }
    function defaultCallback(err2) {
      if (err2) throw err2;
    }
  }
});

// src/builder/package/extract-worker.ts
import { parentPort } from "node:worker_threads";

// src/errors.ts
function formatPosition(p) {
  if (p.line === void 0) return p.file;
  return p.column === void 0 ? `${p.file}:${p.line}` : `${p.file}:${p.line}:${p.column}`;
}
var CondaopsError = class extends Error {
  code;
  position;
  hint;
  constructor(code, message, details = {}) {
    super(message, details.cause === void 0 ? void 0 : { cause: details.cause });
    this.code = code;
    this.position = details.position;
    this.hint = details.hint;
  }
  /** `file:line:col: message (hint)` — the line a user reads. */
  format() {
    const where = this.position ? `${formatPosition(this.position)}: ` : "";
    return this.hint ? `${where}${this.message}; ${this.hint}` : `${where}${this.message}`;
  }
  toJSON() {
    return {
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      ...this.position ? { position: this.position } : {},
      ...this.hint ? { hint: this.hint } : {}
    };
  }
};
var InputError = class extends CondaopsError {
  exitCode = 1;
};
var InfraError = class extends CondaopsError {
  exitCode = 3;
};
function isCondaopsError(e) {
  return e instanceof CondaopsError;
}

// src/builder/package/extract.ts
var import_yauzl = __toESM(require_yauzl(), 1);
import { spawn } from "node:child_process";
import { chmodSync, closeSync, constants, fchmodSync, linkSync, mkdirSync, openSync, readSync, symlinkSync, writeSync } from "node:fs";
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

// src/builder/package/tar-parse.ts
var BLOCK = 512;
var MAX_LONG_HEADER = 4 * 1024 * 1024;
var USTAR_MAGIC = Buffer.from("ustar\0", "latin1");
var GNU_MAGIC = Buffer.from("ustar ", "latin1");
var GNU_VERSION = Buffer.from(" \0", "latin1");
function typeOf(flag) {
  switch (flag) {
    case 0:
      return "file";
    case 1:
      return "link";
    case 2:
      return "symlink";
    case 3:
      return "character-device";
    case 4:
      return "block-device";
    case 5:
      return "directory";
    case 6:
      return "fifo";
    case 7:
      return "contiguous-file";
    case 72:
      return "pax-header";
    case 55:
      return "pax-global-header";
    case 27:
      return "gnu-long-link-path";
    case 28:
    case 30:
      return "gnu-long-path";
    default:
      return null;
  }
}
var isLong = (t) => t === "gnu-long-path" || t === "gnu-long-link-path" || t === "pax-header" || t === "pax-global-header";
var padding = (size) => size % BLOCK === 0 ? 0 : BLOCK - size % BLOCK;
function indexOf(buf, byte, start, end) {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return end;
}
var str = (buf, off, len) => buf.toString("utf8", off, indexOf(buf, 0, off, off + len));
function parse256(buf, off, len) {
  const positive = buf[off] === 128;
  if (!positive && buf[off] !== 255) return Number.NaN;
  let sum = 0;
  for (let i = off + len - 1, scale = 1; i > off; i--, scale *= 256) sum += (positive ? buf[i] : 255 - buf[i]) * scale;
  return positive ? sum : -sum;
}
function octal(buf, off, len) {
  if (buf[off] & 128) return parse256(buf, off, len);
  let start = off;
  const end = off + len;
  while (start < end && buf[start] === 32) start++;
  const stop = indexOf(buf, 32, start, end);
  while (start < stop && buf[start] === 0) start++;
  if (stop === start) return 0;
  return Number.parseInt(buf.toString("latin1", start, stop), 8);
}
function checksum(buf, off) {
  let sum = 8 * 32;
  for (let i = off; i < off + 148; i++) sum += buf[i];
  for (let i = off + 156; i < off + BLOCK; i++) sum += buf[i];
  return sum;
}
function decodePax(buf) {
  const out = {};
  let rest = buf;
  while (rest.length) {
    let i = 0;
    while (i < rest.length && rest[i] !== 32) i++;
    const len = Number.parseInt(rest.toString("utf8", 0, i), 10);
    if (!len) return out;
    const record = rest.toString("utf8", i + 1, len - 1);
    const eq = record.indexOf("=");
    if (eq === -1) return out;
    out[record.slice(0, eq)] = record.slice(eq + 1);
    rest = rest.subarray(len);
  }
  return out;
}
var TarParser = class {
  constructor(sink) {
    this.sink = sink;
  }
  sink;
  partial = Buffer.alloc(BLOCK);
  have = 0;
  state = "header";
  /** Bytes left of the current body, long header or padding. */
  left = 0;
  pad = 0;
  wanted = false;
  long;
  pax = null;
  paxGlobal = null;
  gnuLongPath = null;
  gnuLongLinkPath = null;
  write(chunk) {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.state) {
        case "header": {
          if (this.have === 0 && len - off >= BLOCK) {
            this.header(chunk, off);
            off += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.have, len - off);
            chunk.copy(this.partial, this.have, off, off + take);
            this.have += take;
            off += take;
            if (this.have === BLOCK) {
              this.have = 0;
              this.header(this.partial, 0);
            }
          }
          break;
        }
        case "body": {
          const take = Math.min(this.left, len - off);
          if (this.wanted) this.sink.data(chunk.subarray(off, off + take));
          off += take;
          this.left -= take;
          if (this.left === 0) {
            if (this.wanted) this.sink.end();
            this.skipPadding();
          }
          break;
        }
        case "long": {
          const long = this.long;
          const take = Math.min(this.left, len - off);
          chunk.copy(long.buf, long.have, off, off + take);
          long.have += take;
          off += take;
          this.left -= take;
          if (this.left === 0) this.longDone();
          break;
        }
        case "skip": {
          const take = Math.min(this.left, len - off);
          off += take;
          this.left -= take;
          if (this.left === 0) this.state = "header";
          break;
        }
      }
    }
  }
  /** The stream is over: throws when it stops inside a header, a body or its padding. */
  end() {
    if (this.state !== "header" || this.have !== 0) throw new Error("Unexpected end of data");
  }
  skipPadding() {
    this.left = this.pad;
    this.state = this.pad ? "skip" : "header";
  }
  header(buf, off) {
    const sum = checksum(buf, off);
    if (sum === 8 * 32) return;
    if (sum !== octal(buf, off + 148, 8)) throw new Error("Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?");
    const flag = buf[off + 156] === 0 ? 0 : buf[off + 156] - 48;
    let name = str(buf, off, 100);
    if (buf.compare(USTAR_MAGIC, 0, 6, off + 257, off + 263) === 0) {
      if (buf[off + 345]) name = `${str(buf, off + 345, 155)}/${name}`;
    } else if (!(buf.compare(GNU_MAGIC, 0, 6, off + 257, off + 263) === 0 && buf.compare(GNU_VERSION, 0, 2, off + 263, off + 265) === 0)) {
      throw new Error("Invalid tar header: unknown format.");
    }
    let type = typeOf(flag);
    if (flag === 0 && name.endsWith("/")) type = "directory";
    let size = octal(buf, off + 124, 12);
    if (isLong(type)) {
      if (size > MAX_LONG_HEADER) throw new Error("Header exceeds max size");
      if (!(size >= 0)) throw new Error("Invalid header");
      this.long = { kind: type, buf: Buffer.alloc(size), have: 0 };
      this.pad = padding(size);
      this.left = size;
      if (size === 0) this.longDone();
      else this.state = "long";
      return;
    }
    let linkname = buf[off + 157] === 0 ? null : str(buf, off + 157, 100);
    if (this.gnuLongPath !== null) {
      name = this.gnuLongPath;
      this.gnuLongPath = null;
    }
    if (this.gnuLongLinkPath !== null) {
      linkname = this.gnuLongLinkPath;
      this.gnuLongLinkPath = null;
    }
    if (this.pax) {
      if (this.pax.path) name = this.pax.path;
      if (this.pax.linkpath) linkname = this.pax.linkpath;
      if (this.pax.size) size = Number.parseInt(this.pax.size, 10);
      this.pax = null;
    }
    if (!(size >= 0)) throw new Error("Invalid header");
    const member = { name, type, size, mode: octal(buf, off + 100, 8), linkname };
    this.wanted = this.sink.entry(member);
    this.pad = padding(size);
    this.left = size;
    if (size === 0) {
      if (this.wanted) this.sink.end();
      this.state = "header";
    } else {
      this.state = "body";
    }
  }
  longDone() {
    const long = this.long;
    this.long = void 0;
    switch (long.kind) {
      case "gnu-long-path":
        this.gnuLongPath = str(long.buf, 0, long.buf.length);
        break;
      case "gnu-long-link-path":
        this.gnuLongLinkPath = str(long.buf, 0, long.buf.length);
        break;
      case "pax-global-header":
        this.paxGlobal = decodePax(long.buf);
        break;
      case "pax-header":
        this.pax = this.paxGlobal === null ? decodePax(long.buf) : { ...this.paxGlobal, ...decodePax(long.buf) };
        break;
    }
    this.skipPadding();
  }
};

// src/builder/package/zstd-decoder.ts
import { createRequire } from "node:module";

// node_modules/fzstd/esm/index.mjs
var ab = ArrayBuffer;
var u8 = Uint8Array;
var u16 = Uint16Array;
var i16 = Int16Array;
var i32 = Int32Array;
var slc = function(v, s, e) {
  if (u8.prototype.slice)
    return u8.prototype.slice.call(v, s, e);
  if (s == null || s < 0)
    s = 0;
  if (e == null || e > v.length)
    e = v.length;
  var n = new u8(e - s);
  n.set(v.subarray(s, e));
  return n;
};
var fill = function(v, n, s, e) {
  if (u8.prototype.fill)
    return u8.prototype.fill.call(v, n, s, e);
  if (s == null || s < 0)
    s = 0;
  if (e == null || e > v.length)
    e = v.length;
  for (; s < e; ++s)
    v[s] = n;
  return v;
};
var cpw = function(v, t, s, e) {
  if (u8.prototype.copyWithin)
    return u8.prototype.copyWithin.call(v, t, s, e);
  if (s == null || s < 0)
    s = 0;
  if (e == null || e > v.length)
    e = v.length;
  while (s < e) {
    v[t++] = v[s++];
  }
};
var ec = [
  "invalid zstd data",
  "window size too large (>2046MB)",
  "invalid block type",
  "FSE accuracy too high",
  "match distance too far back",
  "unexpected EOF"
];
var err = function(ind, msg, nt) {
  var e = new Error(msg || ec[ind]);
  e.code = ind;
  if (Error.captureStackTrace)
    Error.captureStackTrace(e, err);
  if (!nt)
    throw e;
  return e;
};
var rb = function(d, b, n) {
  var i = 0, o = 0;
  for (; i < n; ++i)
    o |= d[b++] << (i << 3);
  return o;
};
var b4 = function(d, b) {
  return (d[b] | d[b + 1] << 8 | d[b + 2] << 16 | d[b + 3] << 24) >>> 0;
};
var rzfh = function(dat, w) {
  var n3 = dat[0] | dat[1] << 8 | dat[2] << 16;
  if (n3 == 3126568 && dat[3] == 253) {
    var flg = dat[4];
    var ss = flg >> 5 & 1, cc = flg >> 2 & 1, df = flg & 3, fcf = flg >> 6;
    if (flg & 8)
      err(0);
    var bt = 6 - ss;
    var db = df == 3 ? 4 : df;
    var di = rb(dat, bt, db);
    bt += db;
    var fsb = fcf ? 1 << fcf : ss;
    var fss = rb(dat, bt, fsb) + (fcf == 1 && 256);
    var ws = fss;
    if (!ss) {
      var wb = 1 << 10 + (dat[5] >> 3);
      ws = wb + (wb >> 3) * (dat[5] & 7);
    }
    if (ws > 2145386496)
      err(1);
    var buf = new u8((w == 1 ? fss || ws : w ? 0 : ws) + 12);
    buf[0] = 1, buf[4] = 4, buf[8] = 8;
    return {
      b: bt + fsb,
      y: 0,
      l: 0,
      d: di,
      w: w && w != 1 ? w : buf.subarray(12),
      e: ws,
      o: new i32(buf.buffer, 0, 3),
      u: fss,
      c: cc,
      m: Math.min(131072, ws)
    };
  } else if ((n3 >> 4 | dat[3] << 20) == 25481893) {
    return b4(dat, 4) + 8;
  }
  err(0);
};
var msb = function(val) {
  var bits = 0;
  for (; 1 << bits <= val; ++bits)
    ;
  return bits - 1;
};
var rfse = function(dat, bt, mal) {
  var tpos = (bt << 3) + 4;
  var al = (dat[bt] & 15) + 5;
  if (al > mal)
    err(3);
  var sz = 1 << al;
  var probs = sz, sym = -1, re = -1, i = -1, ht = sz;
  var buf = new ab(512 + (sz << 2));
  var freq = new i16(buf, 0, 256);
  var dstate = new u16(buf, 0, 256);
  var nstate = new u16(buf, 512, sz);
  var bb1 = 512 + (sz << 1);
  var syms = new u8(buf, bb1, sz);
  var nbits = new u8(buf, bb1 + sz);
  while (sym < 255 && probs > 0) {
    var bits = msb(probs + 1);
    var cbt = tpos >> 3;
    var msk = (1 << bits + 1) - 1;
    var val = (dat[cbt] | dat[cbt + 1] << 8 | dat[cbt + 2] << 16) >> (tpos & 7) & msk;
    var msk1fb = (1 << bits) - 1;
    var msv = msk - probs - 1;
    var sval = val & msk1fb;
    if (sval < msv)
      tpos += bits, val = sval;
    else {
      tpos += bits + 1;
      if (val > msk1fb)
        val -= msv;
    }
    freq[++sym] = --val;
    if (val == -1) {
      probs += val;
      syms[--ht] = sym;
    } else
      probs -= val;
    if (!val) {
      do {
        var rbt = tpos >> 3;
        re = (dat[rbt] | dat[rbt + 1] << 8) >> (tpos & 7) & 3;
        tpos += 2;
        sym += re;
      } while (re == 3);
    }
  }
  if (sym > 255 || probs)
    err(0);
  var sympos = 0;
  var sstep = (sz >> 1) + (sz >> 3) + 3;
  var smask = sz - 1;
  for (var s = 0; s <= sym; ++s) {
    var sf = freq[s];
    if (sf < 1) {
      dstate[s] = -sf;
      continue;
    }
    for (i = 0; i < sf; ++i) {
      syms[sympos] = s;
      do {
        sympos = sympos + sstep & smask;
      } while (sympos >= ht);
    }
  }
  if (sympos)
    err(0);
  for (i = 0; i < sz; ++i) {
    var ns = dstate[syms[i]]++;
    var nb = nbits[i] = al - msb(ns);
    nstate[i] = (ns << nb) - sz;
  }
  return [tpos + 7 >> 3, {
    b: al,
    s: syms,
    n: nbits,
    t: nstate
  }];
};
var rhu = function(dat, bt) {
  var i = 0, wc = -1;
  var buf = new u8(292), hb = dat[bt];
  var hw = buf.subarray(0, 256);
  var rc = buf.subarray(256, 268);
  var ri = new u16(buf.buffer, 268);
  if (hb < 128) {
    var _a = rfse(dat, bt + 1, 6), ebt = _a[0], fdt = _a[1];
    bt += hb;
    var epos = ebt << 3;
    var lb = dat[bt];
    if (!lb)
      err(0);
    var st1 = 0, st2 = 0, btr1 = fdt.b, btr2 = btr1;
    var fpos = (++bt << 3) - 8 + msb(lb);
    for (; ; ) {
      fpos -= btr1;
      if (fpos < epos)
        break;
      var cbt = fpos >> 3;
      st1 += (dat[cbt] | dat[cbt + 1] << 8) >> (fpos & 7) & (1 << btr1) - 1;
      hw[++wc] = fdt.s[st1];
      fpos -= btr2;
      if (fpos < epos)
        break;
      cbt = fpos >> 3;
      st2 += (dat[cbt] | dat[cbt + 1] << 8) >> (fpos & 7) & (1 << btr2) - 1;
      hw[++wc] = fdt.s[st2];
      btr1 = fdt.n[st1];
      st1 = fdt.t[st1];
      btr2 = fdt.n[st2];
      st2 = fdt.t[st2];
    }
    if (++wc > 255)
      err(0);
  } else {
    wc = hb - 127;
    for (; i < wc; i += 2) {
      var byte = dat[++bt];
      hw[i] = byte >> 4;
      hw[i + 1] = byte & 15;
    }
    ++bt;
  }
  var wes = 0;
  for (i = 0; i < wc; ++i) {
    var wt = hw[i];
    if (wt > 11)
      err(0);
    wes += wt && 1 << wt - 1;
  }
  var mb = msb(wes) + 1;
  var ts = 1 << mb;
  var rem = ts - wes;
  if (rem & rem - 1)
    err(0);
  hw[wc++] = msb(rem) + 1;
  for (i = 0; i < wc; ++i) {
    var wt = hw[i];
    ++rc[hw[i] = wt && mb + 1 - wt];
  }
  var hbuf = new u8(ts << 1);
  var syms = hbuf.subarray(0, ts), nb = hbuf.subarray(ts);
  ri[mb] = 0;
  for (i = mb; i > 0; --i) {
    var pv = ri[i];
    fill(nb, i, pv, ri[i - 1] = pv + rc[i] * (1 << mb - i));
  }
  if (ri[0] != ts)
    err(0);
  for (i = 0; i < wc; ++i) {
    var bits = hw[i];
    if (bits) {
      var code = ri[bits];
      fill(syms, i, code, ri[bits] = code + (1 << mb - bits));
    }
  }
  return [bt, {
    n: nb,
    b: mb,
    s: syms
  }];
};
var dllt = rfse(/* @__PURE__ */ new u8([
  81,
  16,
  99,
  140,
  49,
  198,
  24,
  99,
  12,
  33,
  196,
  24,
  99,
  102,
  102,
  134,
  70,
  146,
  4
]), 0, 6)[1];
var dmlt = rfse(/* @__PURE__ */ new u8([
  33,
  20,
  196,
  24,
  99,
  140,
  33,
  132,
  16,
  66,
  8,
  33,
  132,
  16,
  66,
  8,
  33,
  68,
  68,
  68,
  68,
  68,
  68,
  68,
  68,
  36,
  9
]), 0, 6)[1];
var doct = rfse(/* @__PURE__ */ new u8([
  32,
  132,
  16,
  66,
  102,
  70,
  68,
  68,
  68,
  68,
  36,
  73,
  2
]), 0, 5)[1];
var b2bl = function(b, s) {
  var len = b.length, bl = new i32(len);
  for (var i = 0; i < len; ++i) {
    bl[i] = s;
    s += 1 << b[i];
  }
  return bl;
};
var llb = /* @__PURE__ */ new u8((/* @__PURE__ */ new i32([
  0,
  0,
  0,
  0,
  16843009,
  50528770,
  134678020,
  202050057,
  269422093
])).buffer, 0, 36);
var llbl = /* @__PURE__ */ b2bl(llb, 0);
var mlb = /* @__PURE__ */ new u8((/* @__PURE__ */ new i32([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  16843009,
  50528770,
  117769220,
  185207048,
  252579084,
  16
])).buffer, 0, 53);
var mlbl = /* @__PURE__ */ b2bl(mlb, 3);
var dhu = function(dat, out, hu) {
  var len = dat.length, ss = out.length, lb = dat[len - 1], msk = (1 << hu.b) - 1, eb = -hu.b;
  if (!lb)
    err(0);
  var st = 0, btr = hu.b, pos = (len << 3) - 8 + msb(lb) - btr, i = -1;
  for (; pos > eb && i < ss; ) {
    var cbt = pos >> 3;
    var val = (dat[cbt] | dat[cbt + 1] << 8 | dat[cbt + 2] << 16) >> (pos & 7);
    st = (st << btr | val) & msk;
    out[++i] = hu.s[st];
    pos -= btr = hu.n[st];
  }
  if (pos != eb || i + 1 != ss)
    err(0);
};
var dhu4 = function(dat, out, hu) {
  var bt = 6;
  var ss = out.length, sz1 = ss + 3 >> 2, sz2 = sz1 << 1, sz3 = sz1 + sz2;
  dhu(dat.subarray(bt, bt += dat[0] | dat[1] << 8), out.subarray(0, sz1), hu);
  dhu(dat.subarray(bt, bt += dat[2] | dat[3] << 8), out.subarray(sz1, sz2), hu);
  dhu(dat.subarray(bt, bt += dat[4] | dat[5] << 8), out.subarray(sz2, sz3), hu);
  dhu(dat.subarray(bt), out.subarray(sz3), hu);
};
var rzb = function(dat, st, out) {
  var _a;
  var bt = st.b;
  var b0 = dat[bt], btype = b0 >> 1 & 3;
  st.l = b0 & 1;
  var sz = b0 >> 3 | dat[bt + 1] << 5 | dat[bt + 2] << 13;
  var ebt = (bt += 3) + sz;
  if (btype == 1) {
    if (bt >= dat.length)
      return;
    st.b = bt + 1;
    if (out) {
      fill(out, dat[bt], st.y, st.y += sz);
      return out;
    }
    return fill(new u8(sz), dat[bt]);
  }
  if (ebt > dat.length)
    return;
  if (btype == 0) {
    st.b = ebt;
    if (out) {
      out.set(dat.subarray(bt, ebt), st.y);
      st.y += sz;
      return out;
    }
    return slc(dat, bt, ebt);
  }
  if (btype == 2) {
    var b3 = dat[bt], lbt = b3 & 3, sf = b3 >> 2 & 3;
    var lss = b3 >> 4, lcs = 0, s4 = 0;
    if (lbt < 2) {
      if (sf & 1)
        lss |= dat[++bt] << 4 | (sf & 2 && dat[++bt] << 12);
      else
        lss = b3 >> 3;
    } else {
      s4 = sf;
      if (sf < 2)
        lss |= (dat[++bt] & 63) << 4, lcs = dat[bt] >> 6 | dat[++bt] << 2;
      else if (sf == 2)
        lss |= dat[++bt] << 4 | (dat[++bt] & 3) << 12, lcs = dat[bt] >> 2 | dat[++bt] << 6;
      else
        lss |= dat[++bt] << 4 | (dat[++bt] & 63) << 12, lcs = dat[bt] >> 6 | dat[++bt] << 2 | dat[++bt] << 10;
    }
    ++bt;
    var buf = out ? out.subarray(st.y, st.y + st.m) : new u8(st.m);
    var spl = buf.length - lss;
    if (lbt == 0)
      buf.set(dat.subarray(bt, bt += lss), spl);
    else if (lbt == 1)
      fill(buf, dat[bt++], spl);
    else {
      var hu = st.h;
      if (lbt == 2) {
        var hud = rhu(dat, bt);
        lcs += bt - (bt = hud[0]);
        st.h = hu = hud[1];
      } else if (!hu)
        err(0);
      (s4 ? dhu4 : dhu)(dat.subarray(bt, bt += lcs), buf.subarray(spl), hu);
    }
    var ns = dat[bt++];
    if (ns) {
      if (ns == 255)
        ns = (dat[bt++] | dat[bt++] << 8) + 32512;
      else if (ns > 127)
        ns = ns - 128 << 8 | dat[bt++];
      var scm = dat[bt++];
      if (scm & 3)
        err(0);
      var dts = [dmlt, doct, dllt];
      for (var i = 2; i > -1; --i) {
        var md = scm >> (i << 1) + 2 & 3;
        if (md == 1) {
          var rbuf = new u8([0, 0, dat[bt++]]);
          dts[i] = {
            s: rbuf.subarray(2, 3),
            n: rbuf.subarray(0, 1),
            t: new u16(rbuf.buffer, 0, 1),
            b: 0
          };
        } else if (md == 2) {
          _a = rfse(dat, bt, 9 - (i & 1)), bt = _a[0], dts[i] = _a[1];
        } else if (md == 3) {
          if (!st.t)
            err(0);
          dts[i] = st.t[i];
        }
      }
      var _b = st.t = dts, mlt = _b[0], oct = _b[1], llt = _b[2];
      var lb = dat[ebt - 1];
      if (!lb)
        err(0);
      var spos = (ebt << 3) - 8 + msb(lb) - llt.b, cbt = spos >> 3, oubt = 0;
      var lst = (dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << llt.b) - 1;
      cbt = (spos -= oct.b) >> 3;
      var ost = (dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << oct.b) - 1;
      cbt = (spos -= mlt.b) >> 3;
      var mst = (dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << mlt.b) - 1;
      for (++ns; --ns; ) {
        var llc = llt.s[lst];
        var lbtr = llt.n[lst];
        var mlc = mlt.s[mst];
        var mbtr = mlt.n[mst];
        var ofc = oct.s[ost];
        var obtr = oct.n[ost];
        cbt = (spos -= ofc) >> 3;
        var ofp = 1 << ofc;
        var off = ofp + ((dat[cbt] | dat[cbt + 1] << 8 | dat[cbt + 2] << 16 | dat[cbt + 3] << 24) >>> (spos & 7) & ofp - 1);
        cbt = (spos -= mlb[mlc]) >> 3;
        var ml = mlbl[mlc] + ((dat[cbt] | dat[cbt + 1] << 8 | dat[cbt + 2] << 16) >> (spos & 7) & (1 << mlb[mlc]) - 1);
        cbt = (spos -= llb[llc]) >> 3;
        var ll = llbl[llc] + ((dat[cbt] | dat[cbt + 1] << 8 | dat[cbt + 2] << 16) >> (spos & 7) & (1 << llb[llc]) - 1);
        cbt = (spos -= lbtr) >> 3;
        lst = llt.t[lst] + ((dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << lbtr) - 1);
        cbt = (spos -= mbtr) >> 3;
        mst = mlt.t[mst] + ((dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << mbtr) - 1);
        cbt = (spos -= obtr) >> 3;
        ost = oct.t[ost] + ((dat[cbt] | dat[cbt + 1] << 8) >> (spos & 7) & (1 << obtr) - 1);
        if (off > 3) {
          st.o[2] = st.o[1];
          st.o[1] = st.o[0];
          st.o[0] = off -= 3;
        } else {
          var idx = off - (ll != 0);
          if (idx) {
            off = idx == 3 ? st.o[0] - 1 : st.o[idx];
            if (idx > 1)
              st.o[2] = st.o[1];
            st.o[1] = st.o[0];
            st.o[0] = off;
          } else
            off = st.o[0];
        }
        for (var i = 0; i < ll; ++i) {
          buf[oubt + i] = buf[spl + i];
        }
        oubt += ll, spl += ll;
        var stin = oubt - off;
        if (stin < 0) {
          var len = -stin;
          var bs = st.e + stin;
          if (len > ml)
            len = ml;
          for (var i = 0; i < len; ++i) {
            buf[oubt + i] = st.w[bs + i];
          }
          oubt += len, ml -= len, stin = 0;
        }
        for (var i = 0; i < ml; ++i) {
          buf[oubt + i] = buf[stin + i];
        }
        oubt += ml;
      }
      if (oubt != spl) {
        while (spl < buf.length) {
          buf[oubt++] = buf[spl++];
        }
      } else
        oubt = buf.length;
      if (out)
        st.y += oubt;
      else
        buf = slc(buf, 0, oubt);
    } else if (out) {
      st.y += lss;
      if (spl) {
        for (var i = 0; i < lss; ++i) {
          buf[i] = buf[spl + i];
        }
      }
    } else if (spl)
      buf = slc(buf, spl);
    st.b = ebt;
    return buf;
  }
  err(2);
};
var cct = function(bufs, ol) {
  if (bufs.length == 1)
    return bufs[0];
  var buf = new u8(ol);
  for (var i = 0, b = 0; i < bufs.length; ++i) {
    var chk = bufs[i];
    buf.set(chk, b);
    b += chk.length;
  }
  return buf;
};
function decompress(dat, buf) {
  var bufs = [], nb = +!buf;
  var bt = 0, ol = 0;
  for (; dat.length; ) {
    var st = rzfh(dat, nb || buf);
    if (typeof st == "object") {
      if (nb) {
        buf = null;
        if (st.w.length == st.u) {
          bufs.push(buf = st.w);
          ol += st.u;
        }
      } else {
        bufs.push(buf);
        st.e = 0;
      }
      for (; !st.l; ) {
        var blk = rzb(dat, st, buf);
        if (!blk)
          err(5);
        if (buf)
          st.e = st.y;
        else {
          bufs.push(blk);
          ol += blk.length;
          cpw(st.w, 0, blk.length);
          st.w.set(blk, st.w.length - blk.length);
        }
      }
      bt = st.b + st.c * 4;
    } else
      bt = st;
    dat = dat.subarray(bt);
  }
  return cct(bufs, ol);
}
var Decompress = /* @__PURE__ */ (function() {
  function Decompress2(ondata) {
    this.ondata = ondata;
    this.c = [];
    this.l = 0;
    this.z = 0;
  }
  Decompress2.prototype.push = function(chunk, final) {
    if (typeof this.s == "number") {
      var sub = Math.min(chunk.length, this.s);
      chunk = chunk.subarray(sub);
      this.s -= sub;
    }
    var sl = chunk.length;
    var ncs = sl + this.l;
    if (!this.s) {
      if (final) {
        if (!ncs) {
          this.ondata(new u8(0), true);
          return;
        }
        if (ncs < 5)
          err(5);
      } else if (ncs < 18) {
        this.c.push(chunk);
        this.l = ncs;
        return;
      }
      if (this.l) {
        this.c.push(chunk);
        chunk = cct(this.c, ncs);
        this.c = [];
        this.l = 0;
      }
      if (typeof (this.s = rzfh(chunk)) == "number")
        return this.push(chunk, final);
    }
    if (typeof this.s != "number") {
      if (ncs < (this.z || 3)) {
        if (final)
          err(5);
        this.c.push(chunk);
        this.l = ncs;
        return;
      }
      if (this.l) {
        this.c.push(chunk);
        chunk = cct(this.c, ncs);
        this.c = [];
        this.l = 0;
      }
      if (!this.z && ncs < (this.z = chunk[this.s.b] & 2 ? 4 : 3 + (chunk[this.s.b] >> 3 | chunk[this.s.b + 1] << 5 | chunk[this.s.b + 2] << 13))) {
        if (final)
          err(5);
        this.c.push(chunk);
        this.l = ncs;
        return;
      } else
        this.z = 0;
      for (; ; ) {
        var blk = rzb(chunk, this.s);
        if (!blk) {
          if (final)
            err(5);
          var adc = chunk.subarray(this.s.b);
          this.s.b = 0;
          this.c.push(adc), this.l += adc.length;
          return;
        } else {
          this.ondata(blk, false);
          cpw(this.s.w, 0, blk.length);
          this.s.w.set(blk, this.s.w.length - blk.length);
        }
        if (this.s.l) {
          var rest = chunk.subarray(this.s.b);
          this.s = this.s.c * 4;
          this.push(rest, final);
          return;
        }
      }
    } else if (final)
      err(5);
  };
  return Decompress2;
})();

// src/builder/package/zstd-decoder.ts
var WINDOW_MAX = 2 ** 27;
var BLOCK_MAX = 128 * 1024;
var MID_FRAME = "the zstd stream ends in the middle of a frame";
var requireBinding = () => createRequire(import.meta.url)("zstd-napi/binding.js");
var NativeStream = class {
  constructor(z, sink) {
    this.sink = sink;
    this.dctx = new z.DCtx();
    this.out = Buffer.allocUnsafe(z.dStreamOutSize());
  }
  sink;
  dctx;
  out;
  inFrame = false;
  write(chunk) {
    let src = chunk;
    for (; ; ) {
      const [ret, produced, consumed] = this.dctx.decompressStream(this.out, src);
      src = src.subarray(consumed);
      if (produced > 0) this.sink(this.out.subarray(0, produced));
      if (src.length === 0 && (produced < this.out.length || ret === 0)) {
        this.inFrame = ret !== 0;
        return;
      }
    }
  }
  end() {
    if (this.inFrame) throw new Error(MID_FRAME);
  }
};
function nativeDecompress(z, buf) {
  const dctx = new z.DCtx();
  let size = 0;
  for (let frame = buf; frame.length > 0 && size !== null; frame = frame.subarray(z.findFrameCompressedSize(frame))) {
    const n = z.getFrameContentSize(frame);
    size = n === null ? null : size + n;
  }
  if (size !== null) {
    const out = Buffer.allocUnsafe(size);
    if (dctx.decompress(out, buf) !== size) throw new Error("Data corruption detected");
    return out;
  }
  const chunks = [];
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
function nativeDecoder(z) {
  return { backend: "zstd-napi", decompress: (buf) => nativeDecompress(z, buf), stream: (sink) => new NativeStream(z, sink) };
}
var ZSTD_MAGIC = 4247762216;
var SKIPPABLE_MAGIC = 407710288;
var FrameScanner = class {
  /** The frame (or block) header being collected. */
  hdr = Buffer.alloc(18);
  have = 0;
  /** Header bytes wanted in the header stages; bytes left to skip in the others. */
  need = 4;
  stage = "magic";
  blockMax = 0;
  lastBlock = false;
  checksum = false;
  /** The current frame's header length (zstd frames), and its declared content size. */
  headerLength = 0;
  contentSize;
  /** Whether the input so far ends at a frame boundary. */
  get idle() {
    return this.stage === "magic" && this.have === 0;
  }
  /**
   * Consumes `buf` from `pos` until its end, a zstd frame header's end (returns "header": the
   * header is `hdr[0, headerLength)`) or a frame's end ("frame"). Returns the stopping point in `at`.
   */
  scan(buf, pos) {
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
      this.hdr[this.have++] = buf[pos++];
      if (this.have < this.need) continue;
      const event = this.header();
      if (event) return { at: pos, event };
    }
    return { at: pos, event: void 0 };
  }
  expect(stage, bytes) {
    this.stage = stage;
    this.have = 0;
    this.need = bytes;
  }
  frameEnd() {
    this.expect("magic", 4);
    return "frame";
  }
  /** `need` header bytes are in: act on them. */
  header() {
    const h = this.hdr;
    switch (this.stage) {
      case "magic": {
        const magic = h.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.stage = "header";
          this.need = 5;
        } else if ((magic & 4294967280) >>> 0 === SKIPPABLE_MAGIC) {
          this.stage = "skip-size";
          this.need = 8;
        } else {
          throw new Error("Unknown frame descriptor");
        }
        return void 0;
      }
      case "header": {
        const fhd = h[4];
        const fcsFlag = fhd >> 6;
        const single = fhd >> 5 & 1;
        const dictBytes = [0, 1, 2, 4][fhd & 3];
        const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
        const length = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
        if (this.need < length) {
          this.need = length;
          return void 0;
        }
        if (fhd & 8) throw new Error("Unsupported frame parameter");
        let at = single ? 5 : 6;
        if (dictBytes > 0 && h.readUIntLE(at, dictBytes) !== 0) throw new Error("Dictionary mismatch");
        at += dictBytes;
        let size;
        if (fcsBytes === 8) size = Number(h.readBigUInt64LE(at));
        else if (fcsBytes > 0) size = h.readUIntLE(at, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
        let window;
        if (single) {
          window = size;
        } else {
          const descriptor = h[5];
          const base = 2 ** (10 + (descriptor >> 3));
          window = base + base / 8 * (descriptor & 7);
        }
        if (window > WINDOW_MAX) throw new Error("Frame requires too much memory for decoding");
        this.blockMax = Math.min(window, BLOCK_MAX);
        this.checksum = (fhd & 4) !== 0;
        this.contentSize = size;
        this.headerLength = length;
        this.expect("block", 3);
        return "header";
      }
      case "block": {
        const v = h.readUIntLE(0, 3);
        this.lastBlock = (v & 1) === 1;
        const type = v >> 1 & 3;
        const size = v >>> 3;
        if (type === 3 || size > this.blockMax) throw new Error("Data corruption detected");
        this.expect("body", type === 1 ? 1 : size);
        if (this.need === 0) {
          if (!this.lastBlock) this.expect("block", 3);
          else if (this.checksum) this.expect("checksum", 4);
          else return this.frameEnd();
        }
        return void 0;
      }
      case "skip-size": {
        const size = h.readUInt32LE(4);
        if (size === 0) return this.frameEnd();
        this.expect("skip", size);
        return void 0;
      }
      default:
        throw new Error(`zstd frame scanner: unexpected stage ${this.stage}`);
    }
  }
};
var corrupt = (cause) => new Error("Data corruption detected", { cause });
var FzstdStream = class {
  constructor(sink) {
    this.sink = sink;
  }
  sink;
  scanner = new FrameScanner();
  decoder;
  /** Bytes the current frame has produced. */
  produced = 0;
  sinkFailed = false;
  ondata = (data) => {
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
  push(data, final) {
    try {
      this.decoder.push(new Uint8Array(data), final);
    } catch (e) {
      if (this.sinkFailed) throw e;
      throw corrupt(e);
    }
  }
  write(chunk) {
    const scanner = this.scanner;
    for (let pos = 0; pos < chunk.length; ) {
      const { at, event } = scanner.scan(chunk, pos);
      if (event === "header") {
        this.decoder = new Decompress(this.ondata);
        this.produced = 0;
        this.push(scanner.hdr.subarray(0, scanner.headerLength), false);
      } else if (this.decoder) {
        this.push(chunk.subarray(pos, at), event === "frame");
        if (event === "frame") {
          this.decoder = void 0;
          if (scanner.contentSize !== void 0 && this.produced !== scanner.contentSize) throw new Error("Data corruption detected");
        }
      }
      pos = at;
    }
  }
  end() {
    if (!this.scanner.idle) throw new Error(MID_FRAME);
  }
};
function fzstdWhole(buf) {
  const scanner = new FrameScanner();
  let size = 0;
  for (let pos = 0; pos < buf.length; ) {
    const { at, event } = scanner.scan(buf, pos);
    if (event === "header") size = size === void 0 || scanner.contentSize === void 0 ? void 0 : size + scanner.contentSize;
    pos = at;
  }
  if (!scanner.idle) throw new Error(MID_FRAME);
  if (size !== void 0 && size > 2147483647) throw new Error("Frame requires too much memory for decoding");
  let out;
  try {
    out = decompress(buf);
  } catch (e) {
    throw corrupt(e);
  }
  if (size !== void 0 && out.length !== size) throw new Error("Data corruption detected");
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}
var FZSTD = { backend: "fzstd", decompress: fzstdWhole, stream: (sink) => new FzstdStream(sink) };
var active;
function decoder() {
  if (!active) {
    active = FZSTD;
    if (process.env.CONDAOPS_ZSTD !== "fzstd") {
      try {
        active = nativeDecoder(requireBinding());
      } catch {
      }
    }
  }
  return active;
}
function createZstdStream(sink) {
  return decoder().stream(sink);
}

// src/builder/package/extract.ts
var DEFAULT_EXTRACT_LIMITS = { maxTotalBytes: 8 * 1024 ** 3, maxRatio: 1e3, maxEntries: 1e6 };
var RATIO_ALLOWANCE = 16 * 1024 ** 2;
var STREAM_SLACK = 4 * 1024 ** 2;
var MAX_SYMLINK_HOPS = 40;
var MAX_ZIP_MEMBERS = 64;
var WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
var Extraction = class {
  constructor(archive, dest, budget, limits, archiveSize) {
    this.archive = archive;
    this.dest = dest;
    this.budget = budget;
    this.limits = limits;
    this.archiveSize = archiveSize;
  }
  archive;
  dest;
  budget;
  limits;
  archiveSize;
  entries = /* @__PURE__ */ new Map();
  symlinks = /* @__PURE__ */ new Map();
  stats = { files: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  /** Decompressed bytes seen (tar headers included), and content bytes the entries declared. */
  unpacked = 0;
  declared = 0;
  members = 0;
  /** The file being written, while its body streams in. */
  out;
  refuse(code, what, hint) {
    return new InputError(code, `${this.archive}: ${what}: refused`, { hint: hint ?? "the package is malformed or malicious; do not install it" });
  }
  overBudget(where) {
    return this.refuse(
      "package.too-large",
      `${where} unpacks to more than ${mib(this.budget)} (archive of ${mib(this.archiveSize)}; limits: ${mib(this.limits.maxTotalBytes)} in all, ${this.limits.maxRatio}:1 ratio)`,
      "a decompression bomb, or a package larger than the extraction limits allow (raise them in the configuration if it is genuine)"
    );
  }
  /**
   * Counts decompressed bytes (headers and padding too) as they stream and aborts once they pass
   * the budget by more than the read-ahead; file contents are held to the budget exactly, at their headers.
   */
  count(bytes, member) {
    this.unpacked += bytes;
    if (this.unpacked > this.budget + Math.min(this.budget, STREAM_SLACK)) throw this.overBudget(member);
  }
  /** A tar reader writing members into this extraction; `member` names the stream in errors. */
  reader(member) {
    const parser = new TarParser(this);
    return {
      write: (chunk) => {
        this.count(chunk.length, member);
        parser.write(chunk);
      },
      end: () => parser.end()
    };
  }
  /** Closes the file being written, if any (after a failure). */
  abort() {
    const out = this.out;
    this.out = void 0;
    try {
      if (out) closeSync(out.fd);
    } catch {
    }
  }
  /** `a/./b/` → `a/b`; refuses absolute paths and `..`. Returns "" for the root itself. */
  normalise(name) {
    const shown = `entry ${JSON.stringify(name)}`;
    if (name.includes("\0")) throw this.refuse("package.unsafe-path", `${shown} contains a NUL byte`);
    if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name)) throw this.refuse("package.unsafe-path", `${shown} is an absolute path`);
    const parts = name.split("/").filter((s) => s !== "" && s !== ".");
    if (parts.includes("..")) throw this.refuse("package.unsafe-path", `${shown} has a ".." segment`);
    return parts.join("/");
  }
  /** Creates the parent folders of `rel`, refusing to go through anything but folders this archive made. */
  parents(rel, shown) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      const kind = this.entries.get(p);
      if (kind === "dir") continue;
      if (kind) throw this.refuse("package.unsafe-path", `entry ${JSON.stringify(shown)} would be written through the ${kind} ${JSON.stringify(p)}`);
      mkdirOnce(join(this.dest, p));
      this.entries.set(p, "dir");
    }
  }
  claim(rel, kind, shown) {
    const had = this.entries.get(rel);
    if (had === "dir" && kind === "dir") return;
    if (had) throw this.refuse("package.duplicate", `entry ${JSON.stringify(shown)} appears twice in the archive (or clashes with a ${had} of the same name)`);
    this.entries.set(rel, kind);
  }
  /** Whether a symlink at `rel` to `target` stays inside the package, following the archive's own symlinks on the way. */
  resolves(rel, target) {
    if (target.startsWith("/")) return false;
    const stack = rel.split("/").slice(0, -1);
    let pending = target.split("/");
    let hops = 0;
    while (pending.length) {
      const seg = pending.shift();
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (!stack.length) return false;
        stack.pop();
        continue;
      }
      stack.push(seg);
      const next = this.symlinks.get(stack.join("/"));
      if (next === void 0) continue;
      if (++hops > MAX_SYMLINK_HOPS) return true;
      if (next.startsWith("/")) return false;
      stack.pop();
      pending = [...next.split("/"), ...pending];
    }
    return true;
  }
  /** Checks one member and creates what it names; true when its body is to be written (a file). */
  entry(header) {
    const shown = header.name;
    const type = header.type ?? "file";
    const size = header.size;
    if (++this.members > this.limits.maxEntries) throw this.refuse("package.too-large", `more than ${this.limits.maxEntries} entries`);
    this.declared += size;
    if (this.declared > this.budget) throw this.overBudget(`entry ${JSON.stringify(shown)}`);
    const rel = this.normalise(shown);
    switch (type) {
      case "directory": {
        if (rel === "") return false;
        this.parents(rel, shown);
        this.claim(rel, "dir", shown);
        mkdirOnce(join(this.dest, rel));
        return false;
      }
      case "file":
      case "contiguous-file": {
        if (rel === "") throw this.refuse("package.unsafe-path", `a file entry named ${JSON.stringify(shown)}`);
        this.parents(rel, shown);
        this.claim(rel, "file", shown);
        const mode = (header.mode ?? 420) & 73 ? 493 : 420;
        try {
          this.out = { fd: openSync(join(this.dest, rel), WRITE_FLAGS, mode), mode };
        } catch (e) {
          throw e.code === "EEXIST" ? this.refuse("package.duplicate", `entry ${JSON.stringify(shown)} clashes with an earlier entry`) : e;
        }
        return true;
      }
      case "symlink": {
        const target = header.linkname ?? "";
        if (rel === "" || target === "") throw this.refuse("package.unsafe-link", `symlink ${JSON.stringify(shown)} has no name or no target`);
        if (target.includes("\0") || !this.resolves(rel, target)) {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a symlink to ${JSON.stringify(target)}, outside the package`);
        }
        this.parents(rel, shown);
        this.claim(rel, "symlink", shown);
        this.symlinks.set(rel, target);
        symlinkSync(target, join(this.dest, rel));
        this.stats.symlinks++;
        return false;
      }
      case "link": {
        const raw = header.linkname ?? "";
        let target;
        try {
          target = this.normalise(raw);
        } catch {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a hard link to ${JSON.stringify(raw)}, outside the package`);
        }
        if (rel === "") throw this.refuse("package.unsafe-path", `a hard link entry named ${JSON.stringify(shown)}`);
        if (this.entries.get(target) !== "file") {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a hard link to ${JSON.stringify(raw)}, which is not a file earlier in the package`);
        }
        this.parents(rel, shown);
        this.claim(rel, "file", shown);
        linkSync(join(this.dest, target), join(this.dest, rel));
        this.stats.hardlinks++;
        return false;
      }
      default:
        throw this.refuse("package.unsafe-type", `entry ${JSON.stringify(shown)} is a ${type}; a package holds only files, folders and links`);
    }
  }
  /** Bytes of the file being written. */
  data(chunk) {
    const fd = this.out.fd;
    for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    this.stats.bytes += chunk.length;
  }
  /** The file's body is complete. */
  end() {
    const out = this.out;
    this.out = void 0;
    try {
      fchmodSync(out.fd, out.mode);
    } finally {
      closeSync(out.fd);
    }
    this.stats.files++;
  }
  /** Symlinks are checked again once every entry is known: a later symlink can change where an earlier one leads. */
  checkLinks() {
    for (const [rel, target] of this.symlinks) {
      if (!this.resolves(rel, target)) throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(rel)} is a symlink to ${JSON.stringify(target)}, which leads outside the package through other symlinks`);
    }
  }
};
function mkdirOnce(path) {
  try {
    mkdirSync(path, { mode: 493 });
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
    return;
  }
  chmodSync(path, 493);
}
var CONTENT_ERRNOS = /* @__PURE__ */ new Set(["ENAMETOOLONG", "ENOTDIR", "EISDIR", "ELOOP", "EEXIST", "EINVAL", "EILSEQ"]);
var isSystemError = (e) => typeof e?.syscall === "string";
var mib = (n) => n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
async function extractTarBz2(x) {
  let stderr = "";
  const child = spawn("bzip2", ["-dc", "--", x.archive], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.on("data", (b) => stderr += b.toString());
  const exited = new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new InfraError("tool.missing", "bzip2 is needed to unpack .tar.bz2 packages", { hint: "install bzip2", cause: e })));
    child.on("close", (code2) => resolve(code2));
  });
  exited.catch(() => void 0);
  try {
    const tar = x.reader(basename(x.archive));
    for await (const chunk of child.stdout) tar.write(chunk);
    tar.end();
  } catch (e) {
    child.kill("SIGKILL");
    const code2 = await exited.catch((err2) => err2);
    if (code2 instanceof InfraError) throw code2;
    if (!isCondaopsError(e) && stderr.trim()) throw x.refuse("package.corrupt", `bzip2 cannot decompress it (${stderr.trim().split("\n")[0]})`, "the archive is truncated or corrupt; delete it and download it again");
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw x.refuse("package.corrupt", `bzip2 cannot decompress it (${stderr.trim().split("\n")[0] || `exit ${code}`})`, "the archive is truncated or corrupt; delete it and download it again");
}
function zstdTar(x, member) {
  const tar = x.reader(member);
  const z = createZstdStream((chunk) => tar.write(chunk));
  return {
    write: (chunk) => z.write(chunk),
    end: () => {
      z.end();
      tar.end();
    }
  };
}
function memberDataStart(fd, entry, fileSize) {
  const header = Buffer.alloc(30);
  if (readSync(fd, header, 0, 30, entry.relativeOffsetOfLocalHeader) !== 30) throw new Error("unexpected EOF in a local file header");
  const signature = header.readUInt32LE(0);
  if (signature !== 67324752) throw new Error(`invalid local file header signature: 0x${signature.toString(16)}`);
  const start = entry.relativeOffsetOfLocalHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + entry.compressedSize > fileSize) throw new Error(`file data overflows file bounds: ${start} + ${entry.compressedSize} > ${fileSize}`);
  return start;
}
function readStored(fd, start, size, into) {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(size, 1 << 18)));
  for (let pos = start, left = size; left > 0; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
    if (n === 0) throw new Error("unexpected end of the archive");
    pos += n;
    left -= n;
    into.write(buf.subarray(0, n));
  }
  into.end();
}
async function extractConda(x) {
  let zip;
  try {
    zip = await import_yauzl.default.openPromise(x.archive, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true, decodeStrings: true });
  } catch (e) {
    throw x.refuse("package.corrupt", `not a readable .conda (zip) archive (${e.message})`, "the archive is truncated or corrupt; delete it and download it again");
  }
  let fd;
  try {
    const seen = /* @__PURE__ */ new Set();
    let info = false;
    let pkg = false;
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      if (seen.has(name)) throw x.refuse("package.duplicate", `zip member ${JSON.stringify(name)} appears twice`);
      seen.add(name);
      if (seen.size > MAX_ZIP_MEMBERS) throw x.refuse("package.format", `more than ${MAX_ZIP_MEMBERS} zip members; a .conda has three`);
      if (name.includes("/") || name.includes("\\") || name.split(/[/\\]/).includes("..")) throw x.refuse("package.unsafe-path", `zip member ${JSON.stringify(name)} is not a plain file name`);
      if (entry.isEncrypted()) throw x.refuse("package.format", `zip member ${JSON.stringify(name)} is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw x.refuse("package.format", `zip member ${JSON.stringify(name)} uses compression method ${entry.compressionMethod}; conda packages use only stored or deflated members`);
      }
      const isInfo = /^info-.+\.tar\.zst$/.test(name);
      const isPkg = /^pkg-.+\.tar\.zst$/.test(name);
      if (!isInfo && !isPkg) {
        if (entry.uncompressedSize > 1 << 20) throw x.refuse("package.format", `unexpected zip member ${JSON.stringify(name)} of ${mib(entry.uncompressedSize)}`);
        continue;
      }
      if (entry.uncompressedSize > x.budget) throw x.overBudget(`zip member ${JSON.stringify(name)}`);
      if (isInfo) info = true;
      else pkg = true;
      let stored;
      let stream;
      if (entry.compressionMethod === 0) {
        fd ??= openSync(x.archive, "r");
        stored = memberDataStart(fd, entry, x.archiveSize);
      } else {
        stream = await zip.openReadStreamPromise(entry);
      }
      try {
        const tar = zstdTar(x, name);
        if (stream) {
          for await (const chunk of stream) tar.write(chunk);
          tar.end();
        } else {
          readStored(fd, stored, entry.compressedSize, tar);
        }
      } catch (e) {
        if (isCondaopsError(e) || isSystemError(e)) throw e;
        throw x.refuse("package.corrupt", `zip member ${JSON.stringify(name)} does not decompress (${e.message})`, "the archive is truncated or corrupt; delete it and download it again");
      }
    }
    if (!info || !pkg) throw x.refuse("package.format", `no ${info ? "pkg" : "info"}-*.tar.zst member: not a conda v2 package`);
  } catch (e) {
    if (isCondaopsError(e) || isSystemError(e)) throw e;
    throw x.refuse("package.corrupt", `the zip structure is damaged (${e.message})`, "the archive is truncated or corrupt; delete it and download it again");
  } finally {
    zip.close();
    if (fd !== void 0) closeSync(fd);
  }
}
async function extractArchive(archivePath, dest, limits = {}) {
  const lim = { ...DEFAULT_EXTRACT_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== void 0)) };
  const isConda = archivePath.endsWith(".conda");
  if (!isConda && !archivePath.endsWith(".tar.bz2")) throw new InputError("package.format", `${archivePath}: not a .conda or .tar.bz2 package`);
  let size;
  try {
    size = (await stat(archivePath)).size;
  } catch (e) {
    throw new InfraError("package.read", `cannot read ${archivePath}: ${e.message}`, { cause: e });
  }
  const budget = Math.min(lim.maxTotalBytes, Math.max(lim.maxRatio * size, RATIO_ALLOWANCE));
  const x = new Extraction(archivePath, dest, budget, lim, size);
  try {
    await mkdir(dirname(dest), { recursive: true });
    await mkdir(dest, { mode: 448 });
  } catch (e) {
    throw new InfraError("package.write", `cannot create ${dest}: ${e.message}`, { hint: "check permissions of the package cache", cause: e });
  }
  try {
    await (isConda ? extractConda(x) : extractTarBz2(x));
    x.checkLinks();
    await chmod(dest, 493);
    return x.stats;
  } catch (e) {
    x.abort();
    await rm(dest, { recursive: true, force: true, maxRetries: 3 });
    if (isCondaopsError(e)) throw e;
    const err2 = e;
    if (isSystemError(e) && CONTENT_ERRNOS.has(err2.code ?? "")) throw x.refuse("package.unsafe-path", `an entry cannot be created (${err2.message.replace(dest, "<package>")})`);
    if (isSystemError(e)) throw new InfraError("package.write", `cannot extract ${archivePath} into ${dest}: ${err2.message}`, { hint: "check free space and permissions of the package cache", cause: e });
    throw x.refuse("package.corrupt", `it does not unpack (${err2.message})`, "the archive is truncated or corrupt; delete it and download it again");
  }
}

// src/builder/package/extract-worker.ts
function toWire(e) {
  if (isCondaopsError(e)) return { exitCode: e.exitCode, code: e.code, message: e.message, ...e.hint ? { hint: e.hint } : {}, ...e.position ? { position: e.position } : {} };
  const err2 = e;
  return { message: err2 instanceof Error ? err2.message : String(e), ...typeof err2?.code === "string" ? { code: err2.code } : {} };
}
var port = parentPort;
if (port) {
  port.on("message", (req) => {
    extractArchive(req.archive, req.dest, req.limits).then(
      (stats) => port.postMessage({ id: req.id, stats }),
      (e) => port.postMessage({ id: req.id, error: toWire(e) })
    );
  });
  port.postMessage({ ready: true });
}
export {
  toWire
};
