// LinkerFile: one linked object in memory (architecture.md "file"): its
// blocks in the arena, its sections at their final addresses, every symbol it
// defines (locals too: the address map and ksyms list them), its constructor
// and destructor lists. The module layer adds references and modules on top.
//
// Memory: a file costs ONE allocation for its record and its tables (the
// hash slots of its globals, sections, symbols and the names they point to),
// sized exactly once the link knows what the file keeps, plus one for its
// constructor lists when it has any. Names are copies owned by the file
// (the input bytes may be freed once linked): an input's whole symbol string
// table when the names the file keeps are nearly all of it (one copy rather
// than hundreds), else only the names of listed sections and symbols; the
// common section names (.text, .rodata...) point to one static copy. A
// thousand one-function modules are a thousand such pairs, so every field
// here is as narrow as its bound allows.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "link/arena.h"
#include "support/allocator.h"
#include "support/memory.h"
#include "support/name_hash.h"
#include "support/span.h"
#include "support/vector.h"

namespace mk::link {

// A loaded section. Empty ones are listed only when a symbol lies in them
// (collect_symbols): an empty .data or .bss holds no byte to name.
struct FileSection {
  const char* name;
  uint64_t addr;
  uint32_t size;    // a file's loaded sections total at most elf::kMaxImageSize (2 GiB)
  uint32_t flags;   // the low half of sh_flags: every SHF_* the gABI or a psABI defines
  uint32_t index;   // its section index in its input object
  uint16_t object;  // which input object (a link takes at most kMaxLinkObjects)
  Class cls;
};
static_assert(sizeof(FileSection) == 32, "a thousand files list a few thousand sections");

struct FileSymbol {
  const char* name;
  uint64_t addr;
  uint64_t size;
  uint8_t type;  // elf::STT_*
  uint8_t bind;  // elf::STB_*
  uint8_t visibility;
  uint32_t section;  // index into LinkerFile::sections(), or UINT32_MAX (absolute, COMMON)
};

class LinkerFile {
  // The record is 104 bytes and its tables follow it in the same
  // allocation (create): their counts share 32-bit words with the flags,
  // and the pointer-sized private field comes first, so that the others
  // pack without holes. It does not keep its allocator: whoever made it
  // (the Linker) frees it with the one it made it from.
  //
  // The constructor lists' allocation: their two counts, then init's words
  // and fini's (reserve_ctors); nullptr: none.
  uint32_t* ctors_ = nullptr;

 public:
  // A record without tables: where the linker keeps a file's blocks until
  // it knows what the tables hold (with_tables() then makes the file).
  LinkerFile() = default;
  LinkerFile(const LinkerFile&) = delete;
  LinkerFile& operator=(const LinkerFile&) = delete;

  // A file whose tables are sized for exactly these counts (the linker, or
  // a test standing in for it), its record and tables ONE allocation from
  // a: nullptr when out of memory, past 4 GiB of tables, or with more
  // exported symbols than symbols. Then at most that many add_section(),
  // add_symbol() and name bytes. A global's name is hashed into the
  // globals' slots when `exported` (global, weak or unique, not hidden or
  // internal: it must agree with the symbol's bind and visibility, which a
  // file of four symbols or fewer, without slots, goes by); of two exported
  // definitions of one name the first strong one is answered.
  [[nodiscard]] static LinkerFile* create(Allocator& a, size_t sections, size_t symbols,
                                          size_t exported, size_t name_bytes);
  // create(), with placed's blocks and __dso_handle.
  [[nodiscard]] static LinkerFile* with_tables(Allocator& a, const LinkerFile& placed,
                                               size_t sections, size_t symbols, size_t exported,
                                               size_t name_bytes);
  // Frees a file create() made from a, with its constructor lists (nullptr:
  // nothing).
  static void destroy(Allocator& a, LinkerFile* f);

  Block blocks[kClassCount];
  uintptr_t debug = 0;  // the CodeRuntime's debug registration (0: none)

 private:
  // create() bounds both counts below 2^27 (a table of 32-byte
  // records under 4 GiB), which leaves room in their words for the slots'
  // log2 and the flags.
  uint32_t nsections_ : 27 = 0;
  uint32_t global_shift_ : 5 = 0;  // log2 of the slots (0: none), at least twice the exports
  uint32_t nsymbols_ : 27 = 0;

 public:
  bool initialized : 1 = false;        // constructors have run
  bool init_released : 1 = false;      // init-only text was given back after them
  bool frames_registered : 1 = false;  // every .eh_frame is registered with the unwinder

  // The loaded sections.
  Span<const FileSection> sections() const {
    return Span<const FileSection>(reinterpret_cast<const FileSection*>(tables() + slot_bytes()),
                                   nsections_);
  }
  // Every named symbol, locals included.
  Span<const FileSymbol> symbols() const {
    return Span<const FileSymbol>(reinterpret_cast<const FileSymbol*>(tables() + symbols_at_),
                                  nsymbols_);
  }
  // Constructors, in the order they run.
  Span<const uintptr_t> init() const {
    if (ctors_ == nullptr) return {};
    return Span<const uintptr_t>(ctor_words(), ctors_[0]);
  }
  // Destructors, in the order they run.
  Span<const uintptr_t> fini() const {
    if (ctors_ == nullptr) return {};
    return Span<const uintptr_t>(ctor_words() + ctors_[0], ctors_[1]);
  }
  // This file's __dso_handle (a word in its data block), or 0 when its code
  // does not refer to one.
  uintptr_t dso_handle() const {
    return dso_at_ == 0 ? 0 : blocks[static_cast<int>(Class::kData)].base + (dso_at_ - 1);
  }
  // The handle is the word at `offset` in the data block (placed already).
  void set_dso_handle(uint32_t offset) { dso_at_ = offset + 1; }

  // A defined global (or weak) symbol of this file, or nullptr.
  // Symbols in init-only text are not answered once that text is released.
  const FileSymbol* find(const char* name) const;
  // The file's definition of a global name whatever became of init-only
  // text (the strong one where weak and strong definitions meet); hash is
  // name_hash(name).
  const FileSymbol* find_global(const char* name, uint32_t hash) const;
  // Bytes of arena memory the file holds.
  size_t memory() const {
    size_t n = 0;
    for (const Block& b : blocks)
      n += b.size;
    return n;
  }
  // The end of the names add_name() and add_names() have copied: they lie,
  // NUL-terminated, one after another, between the tables' other records
  // and this. A name in [sections().data(), names_end()) is one of them (a
  // debugger's image copies them in one piece).
  const char* names_end() const { return reinterpret_cast<const char*>(tables()) + names_at_; }
  // Bytes of heap its tables and constructor lists take (the record itself
  // not counted).
  size_t table_bytes() const {
    if (ctors_ == nullptr) return tables_size_;
    return tables_size_ + kCtorsHead + (size_t{ctors_[0]} + ctors_[1]) * sizeof(uintptr_t);
  }

  // Building the tables (see create()).
  // Copies n bytes of name (plus a NUL) into the tables; returns the copy.
  // Inline: the linker builds each record in place, from registers (a
  // record built on the caller's stack and copied here in wider loads
  // stalled store forwarding once per symbol).
  const char* add_name(const char* name, size_t n) {
    char* at = reinterpret_cast<char*>(tables()) + names_at_;
    mk_memcpy(at, name, n);
    at[n] = '\0';
    names_at_ += static_cast<uint32_t>(n + 1);
    return at;
  }
  void add_section(const FileSection& s) {
    const uint32_t n = nsections_;
    reinterpret_cast<FileSection*>(tables() + slot_bytes())[n] = s;
    nsections_ = n + 1;
  }
  // Copies a whole string table of n bytes (at least 1) into the tables,
  // its last byte a NUL whatever the input's was; returns the copy. A
  // string at offset k of the table is at the copy + k, and ends in it:
  // the names the file keeps may point there, one memcpy for all of them
  // (and the names among them the file does not keep come along).
  const char* add_names(const char* table, size_t n) {
    char* at = reinterpret_cast<char*>(tables()) + names_at_;
    mk_memcpy(at, table, n);
    at[n - 1] = '\0';
    names_at_ += static_cast<uint32_t>(n);
    return at;
  }
  // hash: name_hash(s.name) when exported (the linker has it from its own
  // table of globals), else not read.
  void add_symbol(const FileSymbol& s, bool exported, uint32_t hash) {
    const uint32_t n = nsymbols_;
    put_symbol(n, s, exported, hash);
    nsymbols_ = n + 1;
  }
  // add_symbol() in bulk, for the linker: symbol n, where n symbols were
  // added before it, and their count once at the end (symbols_added). A
  // count stored at each symbol, in the word it shares with the flags, is
  // a store the next symbol's load of it waits on.
  void put_symbol(uint32_t n, const FileSymbol& s, bool exported, uint32_t hash) {
    reinterpret_cast<FileSymbol*>(tables() + symbols_at_)[n] = s;
    if (exported && global_shift_ != 0) hash_global(n, hash);
  }
  void symbols_added(uint32_t n) { nsymbols_ = n; }
  void add_symbol(const FileSymbol& s, bool exported) {
    add_symbol(s, exported, exported && global_shift_ != 0 ? name_hash(s.name) : 0);
  }
  // The constructor and destructor lists: one allocation from a (the file's
  // own allocator) of their two counts and exactly ninit + nfini words (none
  // when both are empty), which the caller fills through *words (init's
  // words, then fini's). False when out of memory or called twice.
  [[nodiscard]] bool reserve_ctors(Allocator& a, size_t ninit, size_t nfini, uintptr_t** words);

 private:
  struct GlobalSlot {
    uint32_t hash;
    uint32_t symbol;  // index into symbols + 1; 0: empty
  };
  static constexpr size_t kCtorsHead = 2 * sizeof(uint32_t);  // ninit, nfini

  // The tables, after the record: the globals' slots (when the shift is
  // not 0), then the sections, the symbols at symbols_at_, and the names.
  uint32_t tables_size_ = 0;
  uint32_t names_at_ = 0;    // offset of the next free name byte (while building)
  uint32_t symbols_at_ = 0;  // offset of the symbols
  uint32_t dso_at_ = 0;      // the __dso_handle's offset in the data block + 1; 0: none

  // Enters symbol n, exported, into the globals' slots; hash is its
  // name_hash.
  void hash_global(uint32_t n, uint32_t hash);

  uint8_t* tables() const { return reinterpret_cast<uint8_t*>(const_cast<LinkerFile*>(this + 1)); }
  size_t slot_bytes() const { return global_shift_ == 0 ? 0 : sizeof(GlobalSlot) << global_shift_; }
  GlobalSlot* globals() const {
    return global_shift_ == 0 ? nullptr : reinterpret_cast<GlobalSlot*>(tables());
  }
  const uintptr_t* ctor_words() const {
    return reinterpret_cast<const uintptr_t*>(reinterpret_cast<const uint8_t*>(ctors_) +
                                              kCtorsHead);
  }
};
static_assert(sizeof(void*) != 8 || sizeof(LinkerFile) == 104,
              "a field added here costs a thousand modules 8 or 16 KiB (malloc's 16-byte steps)");
static_assert(sizeof(LinkerFile) % 8 == 0, "the tables after the record are 8-aligned");

}  // namespace mk::link
