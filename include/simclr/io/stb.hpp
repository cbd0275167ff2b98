// simclr::io's private copy of stb_image / stb_image_write: static functions, one per TU.
//
// Include this header, never <stb/stb_image.h> directly, in code that uses simclr::io. It
// compiles the stb implementation with every function `static` (STB_IMAGE_STATIC,
// STB_IMAGE_WRITE_STATIC), so any number of translation units can include it without
// multiple-definition link errors, and a program's own stb (another version, other options)
// never clashes with it. Only the BMP decoder is compiled in (PNG and JPEG are decoded by libpng
// and libjpeg-turbo, <simclr/io/image.hpp>); the writer writes PNG, JPEG and BMP. Debian: libstb-dev.
#pragma once

#ifndef SIMCLR_IO_STB_IMPLEMENTATION_INCLUDED
#define SIMCLR_IO_STB_IMPLEMENTATION_INCLUDED

#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(INCLUDE_STB_IMAGE_WRITE_H)
#error \
    "simclr: <simclr/io/stb.hpp> must be included before <stb/stb_image.h> / <stb/stb_image_write.h> (it compiles its own static copy); include the simclr header first or not at all"
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION

#endif  // SIMCLR_IO_STB_IMPLEMENTATION_INCLUDED
