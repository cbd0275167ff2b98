// Safetensors files (Hugging Face's tensor format): a validating reader and an atomic writer.
#pragma once

// The format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" object of
// string → string), then the byte buffer the offsets index, little-endian and row-major.
//
// Reading loads the whole file into memory (the header first, validated, then the data buffer;
// a ResNet-50 is ~100 MB). It does not mmap: a mapping is POSIX-specific and a file truncated
// under it kills the process with SIGBUS. Writing is atomic: a temporary file in the target's
// directory, fsync, rename over the target. POSIX only (open/fsync/rename).
//
// The parts: io/safetensors/dtype.hpp (element types and conversions), header.hpp (validating
// the JSON header), read.hpp (safetensors_file, read_safetensors) and write.hpp
// (write_safetensors, remove_stale_temporaries).

#include <simclr/io/safetensors/dtype.hpp>
#include <simclr/io/safetensors/header.hpp>
#include <simclr/io/safetensors/read.hpp>
#include <simclr/io/safetensors/write.hpp>
