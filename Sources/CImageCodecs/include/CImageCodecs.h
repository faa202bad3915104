/*
 * CImageCodecs: the only code that calls libpng 1.6 and libjpeg(-turbo) 2.1.
 *
 * Why a C shim: both libraries report errors by longjmp (libpng) or exit() (libjpeg's default error_exit),
 * and Swift can neither call setjmp nor survive a longjmp across its frames. Every function here owns its
 * own setjmp, so a longjmp never leaves the function that armed it, and errors come back as a status code
 * (CIC_*) plus a human-readable message in the caller's buffer.
 *
 * Pixels: interleaved, row-major, no row padding. 8-bit samples are bytes; 16-bit samples are uint16_t in
 * HOST byte order (libpng's png_set_swap on little-endian hosts). Channel order is gray / gray+alpha /
 * RGB / RGBA. No gamma or colour-management transform is ever applied: the numbers in the file are the
 * numbers the caller gets (the png_image simplified API was rejected because it applies gamma).
 */
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define CIC_OK 0
#define CIC_ERR_IO 1          /* open/read/write/fsync failed (errno text in the message) */
#define CIC_ERR_NOT_IMAGE 2   /* the signature is not the expected format's */
#define CIC_ERR_TRUNCATED 3   /* the file ends before the image data does */
#define CIC_ERR_CHECKSUM 4    /* a PNG chunk CRC does not match */
#define CIC_ERR_CORRUPT 5     /* any other malformed data */
#define CIC_ERR_TOO_LARGE 6   /* dimensions exceed the caller's limits */
#define CIC_ERR_UNSUPPORTED 7 /* well-formed but not handled (CMYK/YCCK JPEG, 12-bit JPEG, …) */
#define CIC_ERR_MISMATCH 8    /* the file no longer matches the probed header, or the buffer is too small */
#define CIC_ERR_EXISTS 9      /* the output path already exists (never replaced) */
#define CIC_ERR_ARGUMENT 10   /* invalid arguments from the caller */

/* Limits applied while reading; every check happens before any pixel-sized allocation. */
typedef struct {
    uint64_t max_pixels;       /* width * height cap */
    uint32_t max_dimension;    /* per-axis cap (libpng user limit); 0 = derive from max_pixels */
    uint32_t chunk_cache_max;  /* libpng: max number of ancillary chunks kept (0 = libpng default) */
    uint64_t chunk_malloc_max; /* libpng: max bytes for one ancillary chunk (0 = libpng default) */
} cic_limits;

/* What a header says, and what decoding will deliver. */
typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t channels;       /* delivered interleaved channels including alpha: 1…4 */
    int32_t bit_depth;      /* delivered bits per sample: 8 or 16 */
    int32_t file_bit_depth; /* as stored: PNG 1/2/4/8/16, JPEG 8 */
    int32_t color_type;     /* PNG: PNG_COLOR_TYPE_*; JPEG: J_COLOR_SPACE of the file */
    int32_t has_alpha;      /* delivered channels include alpha (PNG alpha or tRNS) */
    int32_t is_palette;     /* PNG palette image (delivered expanded to RGB/RGBA 8-bit) */
    int32_t is_interlaced;  /* PNG Adam7 or progressive JPEG */
} cic_info;

/* A PNG text chunk (tEXt when the value is ASCII, iTXt/UTF-8 otherwise). Keys: 1-79 printable Latin-1. */
typedef struct {
    const char *key;
    const char *value;
} cic_text;

/* A raw chunk to write into a PNG before PLTE/IDAT (colour-space chunks carried over from the input). */
typedef struct {
    char type[5];        /* four letters + NUL */
    const uint8_t *data;
    uint32_t length;
} cic_png_chunk;

/* Reads the header only (PNG: chunks up to the first IDAT; JPEG: markers up to the first SOS). */
int cic_png_probe(const char *path, const cic_limits *limits, cic_info *info, char *err, size_t errlen);
int cic_jpeg_probe(const char *path, const cic_limits *limits, cic_info *info, char *err, size_t errlen);

/* Decodes into pixels (capacity bytes). The file must still match `expected` (from the probe). */
int cic_png_decode(const char *path, const cic_limits *limits, const cic_info *expected, void *pixels,
                   size_t capacity, char *err, size_t errlen);
int cic_jpeg_decode(const char *path, const cic_limits *limits, const cic_info *expected, void *pixels,
                    size_t capacity, char *err, size_t errlen);

/* Encoders. `path` is created exclusively (O_EXCL: an existing file is never replaced, CIC_ERR_EXISTS);
 * on failure the partial file is removed. With do_fsync the data is on disk when CIC_OK is returned. */
int cic_png_encode(const char *path, const void *pixels, uint32_t width, uint32_t height, int32_t channels,
                   int32_t bit_depth, const cic_text *texts, int32_t text_count, const cic_png_chunk *chunks,
                   int32_t chunk_count, int32_t compression_level, int32_t do_fsync, char *err, size_t errlen);
/* A marker segment to write into a JPEG (e.g. EXIF APP1 or ICC APP2 carried over from the input). */
typedef struct {
    int32_t marker;        /* second marker byte, 0xE0…0xEF (APPn) or 0xFE (COM) */
    const uint8_t *data;   /* payload without the length field */
    uint32_t length;       /* ≤ 65533; longer segments are skipped */
} cic_jpeg_marker;

/* JPEG comment (COM marker) longer than 65533 bytes is cut to that length (the marker's maximum).
 * `markers` are written right after SOI (before the comment); when one is an EXIF APP1, no JFIF APP0 is
 * written, because EXIF requires its APP1 to come first. */
int cic_jpeg_encode(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, int32_t channels,
                    int32_t quality, int32_t subsample_chroma, int32_t progressive, const char *comment,
                    const cic_jpeg_marker *markers, int32_t marker_count, int32_t do_fsync, char *err, size_t errlen);

/* Moves `from` to `to` without ever replacing `to` (renameat2 RENAME_NOREPLACE, or link+unlink where the
 * file system lacks it). CIC_ERR_EXISTS when `to` exists. */
int cic_rename_noreplace(const char *from, const char *to, char *err, size_t errlen);

/* fsync of a directory (makes a rename durable). */
int cic_fsync_directory(const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
