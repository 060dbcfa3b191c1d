// What the benchmark needs to know about a compiled relocatable object: its
// size in text and relocations (to describe the corpus), where the per-copy
// tag sits in its string table (to give each loaded copy its own export
// names), and the layout the copy-and-write floor (floor.h) replays.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace bench {

// Every global name a corpus module defines starts with this tag; copies get
// the eight digits replaced (patch_tag) so that no two loaded copies export
// the same name.
inline constexpr char kTag[] = "m00000000_";
inline constexpr size_t kTagDigits = 8;

// The tagged name of export `what` in copy `id` (id 0 is the unpatched object).
std::string tag_name(uint32_t id, const char* what);

struct SectionInfo {
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;
  uint64_t align = 1;
  uint64_t flags = 0;
  uint32_t type = 0;
  uint32_t info = 0;  // for SHT_RELA: the section the relocations apply to
  uint64_t entsize = 0;
};

struct ObjectInfo {
  std::vector<SectionInfo> sections;
  size_t text_bytes = 0;            // SHF_ALLOC | SHF_EXECINSTR
  size_t alloc_bytes = 0;           // every SHF_ALLOC section, .bss included
  size_t relocations = 0;           // entries of SHT_RELA sections that apply to loaded sections
  size_t imports = 0;               // undefined named symbols
  std::vector<size_t> tag_offsets;  // file offsets of kTag's digits in the symbol string table
};

// Parses an ELF64 little-endian ET_REL object. Trusts its input more than
// modkit may (the benchmark compiled it), but still checks every range.
bool parse_object(const std::vector<uint8_t>& bytes, ObjectInfo* out, std::string* err);

// Writes `id` into every tag of a copy of the object parsed into `info`.
void patch_tag(std::vector<uint8_t>& bytes, const ObjectInfo& info, uint32_t id);

}  // namespace bench
