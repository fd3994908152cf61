// The block layer of the chunk store (format version 2, docs/chunk-format.md):
// every 4 KiB block of a segment has three CRC32C slots in the segment's .crc
// sidecar (12 bytes per block: the current checksum, the one before it, and
// the one of its durable content),
// checked on every read; an encrypted file system's blocks are XTS-AES-256
// ciphertext, and the checksum covers the stored (encrypted) bytes.
//
// Write order, per batch of blocks: checksums first, data second. A crash in
// between leaves the old data under {new, old, durable} slots, which still
// match; so a torn write reads as the old block, never as EIO.
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "chunk/block_cipher.h"
#include "chunk/crc32c.h"
#include "chunk/store_internal.h"

namespace efs::chunk {

namespace {

constexpr std::size_t kBlock = kBlockBytes;
// Blocks handled per pass: one NFS READ/WRITE of 1 MiB.
constexpr uint64_t kBatchBlocks = 256;

// A block's stored checksum; 0 means "no checksum" (a hole), so a block
// whose CRC is 0 stores 1 instead.
uint32_t block_crc(const uint8_t* b) {
  uint32_t c = crc32c(0, b, kBlock);
  return c ? c : 1;
}

uint32_t zero_block_crc() {
  static const uint32_t c = [] {
    static const uint8_t z[kBlock] = {};
    return block_crc(z);
  }();
  return c;
}

struct Slots {
  uint32_t current;
  uint32_t previous;  // before the latest write
  uint32_t durable;   // as of the inode's last sync before the latest write
  bool hole() const { return current == 0 && previous == 0 && durable == 0; }
  // An earlier checksum of 0 means the block was a hole: zeros match it.
  bool matches(uint32_t c) const {
    const uint32_t z = zero_block_crc();
    return c == current || c == (previous ? previous : z) || c == (durable ? durable : z);
  }
};
static_assert(sizeof(Slots) == 12);

// Per-thread buffers, grown once and reused: no allocation per call.
struct Buffers {
  std::vector<uint8_t> data;
  std::vector<Slots> slots;
  std::vector<uint8_t> head, tail;  // partial blocks (read-modify-write)
  bool unsynced[kBatchBlocks];
};
Buffers& buffers() {
  thread_local Buffers b;
  return b;
}

// Reads n bytes at offset; bytes past the file's end read as zeros.
Status<> read_fully(Disk& disk, int fd, uint8_t* out, std::size_t n, uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    auto r = disk.pread(fd, {out + done, n - done}, offset + done);
    if (!r) return fail(r.error());
    if (*r == 0) break;
    done += *r;
  }
  std::memset(out + done, 0, n - done);
  return {};
}

Status<> read_slots(Disk& disk, int crc_fd, Slots* out, uint64_t first, uint64_t n) {
  return read_fully(disk, crc_fd, reinterpret_cast<uint8_t*>(out), n * sizeof(Slots),
                    first * sizeof(Slots));
}

// File block number (the XTS tweak's block) of block `blk` of segment seg.
uint64_t file_block(uint32_t seg, uint64_t blk) {
  return uint64_t{seg} * (kSegmentBytes / kBlock) + blk;
}

ChunkError corrupt(const std::string& fs, uint64_t ino, uint32_t seg, uint64_t blk) {
  uint64_t at = file_block(seg, blk) * kBlock;
  spdlog::error("chunk store: file system {} inode {}: checksum mismatch in the block at byte {}",
                fs, ino, at);
  return ChunkError{EIO, "checksum mismatch in file system " + fs + " inode " +
                             std::to_string(ino) + " at byte " + std::to_string(at)};
}

// Reads block blk's stored bytes into buf (kBlock), checks them against
// slots and decrypts them: buf then holds the plaintext (zeros for a hole).
// False when the checksum does not match.
Status<bool> load_block(Disk& disk, int data_fd, uint32_t seg, uint64_t ino, uint64_t blk,
                        const Slots& slots, const DataKey* key, uint8_t* buf) {
  if (slots.hole()) {
    std::memset(buf, 0, kBlock);
    return true;
  }
  if (auto s = read_fully(disk, data_fd, buf, kBlock, blk * kBlock); !s) return fail(s.error());
  if (!slots.matches(block_crc(buf))) return false;
  if (key) xts_decrypt(*key, xts_tweak(ino, file_block(seg, blk)), buf, buf, kBlock);
  return true;
}

// The slots after writing a block with checksum c over `old`. `unsynced`:
// the block was written since the last sync, so its durable content is
// still the one `old.durable` names; else it is the one `old.current` names.
Slots shifted(const Slots& old, uint32_t c, bool unsynced) {
  return Slots{c, old.current, unsynced ? old.durable : old.current};
}

// After a write of blocks [first, first + n) failed part-way (a short
// write, then ENOSPC or EIO), some block may hold part of the new bytes, or
// its slots part of the new checksum. The write is not acknowledged, so any
// mix is allowed, but the block must not turn into a checksum error: each
// block that matches neither slot gets the checksum of what it now holds.
// Best effort: a failure here is logged, the write's own error is returned.
void repair_after_failed_write(Disk& disk, int data_fd, int crc_fd, uint64_t first, uint64_t n) {
  std::vector<uint8_t> data(n * kBlock);
  std::vector<Slots> slots(n);
  if (!read_fully(disk, data_fd, data.data(), data.size(), first * kBlock) ||
      !read_slots(disk, crc_fd, slots.data(), first, n)) {
    spdlog::warn("chunk store: cannot re-read blocks after a failed write");
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t c = block_crc(data.data() + i * kBlock);
    if (slots[i].hole() || slots[i].matches(c)) continue;
    slots[i].current = c;
    if (!write_fully(disk, crc_fd, {reinterpret_cast<const uint8_t*>(&slots[i]), sizeof(Slots)},
                     (first + i) * sizeof(Slots))) {
      spdlog::warn("chunk store: cannot fix the checksum of block {} after a failed write",
                   first + i);
    }
  }
}

}  // namespace

CResult<> ChunkStore::read_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd* h,
                                 uint64_t in_seg, std::span<uint8_t> out, const DataKey* key,
                                 bool locked) {
  if (!h) {
    std::memset(out.data(), 0, out.size());
    return {};
  }
  if (h->crc_fd < 0) {
    // A version-1 file: no checksums, never encrypted.
    if (key) return fail(ChunkError{EIO, "unchecked version-1 file in an encrypted file system"});
    if (auto s = read_fully(disk_, h->fd, out.data(), out.size(), in_seg); !s)
      return fail(disk_error(s.error()));
    return {};
  }
  Buffers& tl = buffers();
  const uint64_t end = in_seg + out.size();
  const uint64_t first = in_seg / kBlock, last = (end + kBlock - 1) / kBlock;
  for (uint64_t b = first; b < last; b += kBatchBlocks) {
    const uint64_t nb = std::min(kBatchBlocks, last - b);
    const uint64_t lo = std::max(in_seg, b * kBlock), hi = std::min(end, (b + nb) * kBlock);
    uint8_t* dst = out.data() + (lo - in_seg);
    // Whole plaintext blocks go straight into the caller's buffer.
    const bool direct = !key && lo == b * kBlock && hi == (b + nb) * kBlock;
    if (!direct) {
      if (tl.data.size() < nb * kBlock) tl.data.resize(kBatchBlocks * kBlock);
      dst = tl.data.data();
    }
    if (tl.slots.size() < kBatchBlocks) tl.slots.resize(kBatchBlocks);
    // Data before checksums: a write stores checksums before data, so data
    // this read sees is covered by the slots it reads next (unless a second
    // write raced past; then the locked retry below settles it).
    if (auto s = read_fully(disk_, h->fd, dst, nb * kBlock, b * kBlock); !s)
      return fail(disk_error(s.error()));
    if (auto s = read_slots(disk_, h->crc_fd, tl.slots.data(), b, nb); !s)
      return fail(disk_error(s.error()));
    for (uint64_t i = 0; i < nb; ++i) {
      uint8_t* blk = dst + i * kBlock;
      const Slots& sl = tl.slots[i];
      // The part of this block the caller asked for, and where it goes.
      const uint64_t bs = (b + i) * kBlock;
      const uint64_t clo = std::max(lo, bs), chi = std::min(hi, bs + kBlock);
      uint8_t* to = out.data() + (clo - in_seg);
      if (sl.hole()) {
        if (key) {
          std::memset(to, 0, chi - clo);
        } else {
          std::memset(blk, 0, kBlock);
        }
        continue;
      }
      if (!sl.matches(block_crc(blk))) {
        if (!locked) {
          // Maybe a concurrent write of this block: read again alone.
          std::lock_guard lock(inode_lock(fs, ino));
          return read_piece(fs, ino, seg, h, in_seg, out, key, true);
        }
        return fail(corrupt(fs, ino, seg, b + i));
      }
      if (key) {
        // Whole blocks decrypt straight into the caller's buffer.
        const auto tweak = xts_tweak(ino, file_block(seg, b + i));
        if (chi - clo == kBlock) {
          xts_decrypt(*key, tweak, blk, to, kBlock);
        } else {
          xts_decrypt(*key, tweak, blk, blk, kBlock);
          std::memcpy(to, blk + (clo - bs), chi - clo);
        }
      }
    }
    if (!direct && !key) std::memcpy(out.data() + (lo - in_seg), dst + (lo - b * kBlock), hi - lo);
  }
  return {};
}

CResult<> ChunkStore::write_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd& h,
                                  uint64_t in_seg, std::span<const uint8_t> data,
                                  const DataKey* key) {
  if (h.crc_fd < 0) {
    if (key) return fail(ChunkError{EIO, "unchecked version-1 file in an encrypted file system"});
    if (auto s = write_fully(disk_, h.fd, data, in_seg); !s) return fail(disk_error(s.error()));
    return {};
  }
  Buffers& tl = buffers();
  if (tl.slots.size() < kBatchBlocks) tl.slots.resize(kBatchBlocks);
  tl.head.resize(kBlock);
  tl.tail.resize(kBlock);
  const uint64_t end = in_seg + data.size();
  const uint64_t first = in_seg / kBlock, last = (end + kBlock - 1) / kBlock;
  for (uint64_t b = first; b < last; b += kBatchBlocks) {
    const uint64_t nb = std::min(kBatchBlocks, last - b);
    const uint64_t lo = std::max(in_seg, b * kBlock), hi = std::min(end, (b + nb) * kBlock);
    Slots* slots = tl.slots.data();
    if (auto s = read_slots(disk_, h.crc_fd, slots, b, nb); !s) return fail(disk_error(s.error()));
    if (key && tl.data.size() < nb * kBlock) tl.data.resize(kBatchBlocks * kBlock);
    unsynced_blocks(fs, ino, file_block(seg, b), nb, tl.unsynced);
    // Plain blocks partly written whose stored bytes outside the write
    // must be replaced too (a hole over stale bytes): written whole.
    uint8_t* whole[2] = {nullptr, nullptr};
    uint64_t whole_blk[2] = {0, 0};
    for (uint64_t i = 0; i < nb; ++i) {
      const uint64_t blk = b + i;
      const uint64_t blo = std::max(lo, blk * kBlock), bhi = std::min(hi, (blk + 1) * kBlock);
      const uint8_t* plain = data.data() + (blo - in_seg);
      if (bhi - blo < kBlock) {
        // Read-modify-write: the old block is checked before it is reused.
        uint8_t* buf = blk == first ? tl.head.data() : tl.tail.data();
        auto ok = load_block(disk_, h.fd, seg, ino, blk, slots[i], key, buf);
        if (!ok) return fail(disk_error(ok.error()));
        if (!*ok) return fail(corrupt(fs, ino, seg, blk));
        if (!key && slots[i].hole()) {
          // The data file may hold stale bytes under a hole (a truncate
          // cut short by a crash): the block is then written whole.
          uint8_t stale[kBlock];
          if (auto s = read_fully(disk_, h.fd, stale, kBlock, blk * kBlock); !s)
            return fail(disk_error(s.error()));
          if (std::memcmp(stale, buf, kBlock) != 0) {
            whole[blk == first ? 0 : 1] = buf;
            whole_blk[blk == first ? 0 : 1] = blk;
          }
        }
        std::memcpy(buf + (blo - blk * kBlock), plain, bhi - blo);
        plain = buf;
      }
      uint32_t c;
      if (key) {
        uint8_t* cipher = tl.data.data() + i * kBlock;
        xts_encrypt(*key, xts_tweak(ino, file_block(seg, blk)), plain, cipher, kBlock);
        c = block_crc(cipher);
      } else {
        c = block_crc(plain);
      }
      slots[i] = shifted(slots[i], c, tl.unsynced[i]);
    }
    Status<> s =
        write_fully(disk_, h.crc_fd, {reinterpret_cast<const uint8_t*>(slots), nb * sizeof(Slots)},
                    b * sizeof(Slots));
    note_unsynced(fs, ino, file_block(seg, b), file_block(seg, b + nb));
    if (!s) {
      repair_after_failed_write(disk_, h.fd, h.crc_fd, b, nb);
      return fail(disk_error(s.error()));
    }
    if (key) {
      s = write_fully(disk_, h.fd, {tl.data.data(), nb * kBlock}, b * kBlock);
    } else {
      // Plaintext goes to the disk from the caller's buffer: no copy.
      s = write_fully(disk_, h.fd, data.subspan(lo - in_seg, hi - lo), lo);
      for (int k = 0; s && k < 2; ++k) {
        if (whole[k]) s = write_fully(disk_, h.fd, {whole[k], kBlock}, whole_blk[k] * kBlock);
      }
    }
    if (!s) {
      repair_after_failed_write(disk_, h.fd, h.crc_fd, b, nb);
      return fail(disk_error(s.error()));
    }
  }
  return {};
}

CResult<> ChunkStore::truncate_piece(const std::string& fs, uint64_t ino, uint32_t seg, Fd& h,
                                     uint64_t in_seg, const DataKey* key) {
  if (h.crc_fd < 0) {
    if (key) return fail(ChunkError{EIO, "unchecked version-1 file in an encrypted file system"});
    if (auto s = disk_.ftruncate(h.fd, in_seg); !s) return fail(disk_error(s.error()));
    return {};
  }
  const uint64_t blocks = (in_seg + kBlock - 1) / kBlock;
  if (in_seg % kBlock) {
    // The last, partial block keeps its head; its tail must read as zeros
    // (and match the checksum) when the file grows again.
    const uint64_t blk = in_seg / kBlock;
    Slots old{};
    if (auto s = read_slots(disk_, h.crc_fd, &old, blk, 1); !s) return fail(disk_error(s.error()));
    if (!old.hole()) {
      uint8_t buf[kBlock];
      auto ok = load_block(disk_, h.fd, seg, ino, blk, old, key, buf);
      if (!ok) return fail(disk_error(ok.error()));
      if (!*ok) return fail(corrupt(fs, ino, seg, blk));
      const std::size_t keep = in_seg % kBlock;
      std::memset(buf + keep, 0, kBlock - keep);
      if (key) xts_encrypt(*key, xts_tweak(ino, file_block(seg, blk)), buf, buf, kBlock);
      bool unsynced = false;
      unsynced_blocks(fs, ino, file_block(seg, blk), 1, &unsynced);
      Slots now = shifted(old, block_crc(buf), unsynced);
      note_unsynced(fs, ino, file_block(seg, blk), file_block(seg, blk) + 1);
      if (auto s =
              write_fully(disk_, h.crc_fd, {reinterpret_cast<const uint8_t*>(&now), sizeof(Slots)},
                          blk * sizeof(Slots));
          !s) {
        return fail(disk_error(s.error()));
      }
      // Plaintext: the ftruncate below zeroes the tail. Ciphertext changes
      // whole, so the block is rewritten.
      if (key) {
        if (auto s = write_fully(disk_, h.fd, {buf, kBlock}, blk * kBlock); !s)
          return fail(disk_error(s.error()));
      }
    }
  }
  // Checksums first: blocks past the new end become holes (zeros) even if
  // a crash keeps their data.
  if (auto s = disk_.ftruncate(h.crc_fd, blocks * sizeof(Slots)); !s)
    return fail(disk_error(s.error()));
  if (auto s = disk_.ftruncate(h.fd, key ? blocks * kBlock : in_seg); !s)
    return fail(disk_error(s.error()));
  return {};
}

}  // namespace efs::chunk
