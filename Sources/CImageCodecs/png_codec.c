/* PNG through libpng's classic API with no gamma/colour transforms (see CImageCodecs.h). */
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>

#include "cic_private.h"

/* Per-call state reached from libpng's callbacks. `status` is set by whoever knows best why the call
 * fails (the read callback knows "truncated" better than the generic error text does). */
typedef struct {
    FILE *fp;
    int status;
    char msg[320];
} png_ctx;

static void png_ctx_fail(png_ctx *c, int status, const char *fmt, ...) {
    if (c->status != CIC_OK) return; /* keep the first, most specific reason */
    c->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

static void on_png_error(png_structp png, png_const_charp msg) {
    png_ctx *c = (png_ctx *)png_get_error_ptr(png);
    int status = CIC_ERR_CORRUPT;
    if (strstr(msg, "CRC") != NULL) status = CIC_ERR_CHECKSUM;
    else if (strstr(msg, "exceeds user limit") != NULL) status = CIC_ERR_TOO_LARGE;
    else if (strstr(msg, "out of memory") != NULL || strstr(msg, "Out of memory") != NULL) status = CIC_ERR_TOO_LARGE;
    png_ctx_fail(c, status, "%s", msg);
    png_longjmp(png, 1);
}

/* libpng warns about damaged ancillary chunks and drops them; the pixels are unaffected, so we go on. */
static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void read_fn(png_structp png, png_bytep data, size_t length) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (fread(data, 1, length, c->fp) != length) {
        if (ferror(c->fp)) png_ctx_fail(c, CIC_ERR_IO, "read failed: %s", strerror(errno));
        else png_ctx_fail(c, CIC_ERR_TRUNCATED, "file ends before the image data does (truncated)");
        png_error(png, c->msg);
    }
}

static void write_fn(png_structp png, png_bytep data, size_t length) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (fwrite(data, 1, length, c->fp) != length) {
        png_ctx_fail(c, CIC_ERR_IO, "write failed: %s", strerror(errno));
        png_error(png, c->msg);
    }
}

static void flush_fn(png_structp png) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (fflush(c->fp) != 0) {
        png_ctx_fail(c, CIC_ERR_IO, "write failed: %s", strerror(errno));
        png_error(png, c->msg);
    }
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reads the signature and the chunks up to the first IDAT, installs the transforms that turn any PNG into
 * 8/16-bit gray/GA/RGB/RGBA samples in host order, and reports the result. Called under the caller's
 * setjmp; errors longjmp. Returns the number of interlace passes. */
static int read_header(png_ctx *c, png_structp png, png_infop info, const cic_limits *lim, cic_info *out) {
    png_byte sig[8];
    size_t got = fread(sig, 1, sizeof sig, c->fp);
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        png_ctx_fail(c, CIC_ERR_NOT_IMAGE, "not a PNG file (bad signature)");
        png_error(png, c->msg);
    }
    png_set_sig_bytes(png, (int)sizeof sig);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if ((uint64_t)width * (uint64_t)height > lim->max_pixels) {
        png_ctx_fail(c, CIC_ERR_TOO_LARGE, "%u x %u = %llu pixels exceeds the limit of %llu pixels", width, height,
                     (unsigned long long)width * height, (unsigned long long)lim->max_pixels);
        png_error(png, c->msg);
    }
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    if (depth == 16 && host_is_little_endian()) png_set_swap(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int bits = png_get_bit_depth(png, info);
    if ((bits != 8 && bits != 16) || channels < 1 || channels > 4 ||
        png_get_rowbytes(png, info) != (size_t)width * (size_t)channels * (size_t)(bits / 8)) {
        png_ctx_fail(c, CIC_ERR_UNSUPPORTED, "unexpected sample layout (%d channels, %d bits)", channels, bits);
        png_error(png, c->msg);
    }
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = bits;
    out->file_bit_depth = depth;
    out->color_type = color;
    out->has_alpha = (channels == 2 || channels == 4);
    out->is_palette = (color == PNG_COLOR_TYPE_PALETTE);
    out->is_interlaced = (interlace != PNG_INTERLACE_NONE);
    return passes;
}

static int probe_guarded(png_ctx *c, png_structp png, png_infop info, const cic_limits *lim, cic_info *out) {
    if (setjmp(png_jmpbuf(png))) return c->status != CIC_OK ? c->status : CIC_ERR_CORRUPT;
    read_header(c, png, info, lim, out);
    return CIC_OK;
}

static int decode_guarded(png_ctx *c, png_structp png, png_infop info, const cic_limits *lim,
                          const cic_info *expected, uint8_t *pixels, size_t capacity) {
    if (setjmp(png_jmpbuf(png))) return c->status != CIC_OK ? c->status : CIC_ERR_CORRUPT;
    cic_info now = {0};
    int passes = read_header(c, png, info, lim, &now);
    if (now.width != expected->width || now.height != expected->height || now.channels != expected->channels ||
        now.bit_depth != expected->bit_depth) {
        png_ctx_fail(c, CIC_ERR_MISMATCH, "the file changed between probe and decode");
        png_error(png, c->msg);
    }
    size_t rowbytes = png_get_rowbytes(png, info);
    if (capacity / rowbytes < now.height) {
        png_ctx_fail(c, CIC_ERR_MISMATCH, "pixel buffer of %zu bytes is too small", capacity);
        png_error(png, c->msg);
    }
    /* Row by row (no row-pointer array, whose size a tall 1-pixel-wide image would blow up); for Adam7,
     * libpng merges each pass into the rows already in the buffer. */
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < now.height; y++) png_read_row(png, pixels + (size_t)y * rowbytes, NULL);
    }
    /* Reading to IEND also catches a file cut after its last IDAT and a bad CRC on the last chunk. */
    png_read_end(png, NULL);
    return CIC_OK;
}

/* libpng inflates IDAT data as it streams in and checks a chunk's CRC only at the chunk's end, so a
 * flipped bit in pixel data usually surfaces as a zlib error ("invalid stored block lengths"). When
 * decoding fails as corrupt, this second pass over the chunk structure tells whether a CRC mismatch is
 * the real cause; it costs nothing on the success path. Returns 1 and describes the first bad chunk. */
static uint32_t crc_table[256];
static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}
static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int find_crc_mismatch(FILE *fp, char *msg, size_t msglen) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    if (fseek(fp, 8, SEEK_SET) != 0) return 0;
    uint8_t head[8], buf[65536], tail[4];
    for (int index = 0;; index++) {
        if (fread(head, 1, 8, fp) != 8) return 0;
        uint32_t length = be32(head);
        if (length > 0x7fffffffu) return 0;
        uint32_t crc = crc_update(0xFFFFFFFFu, head + 4, 4);
        for (uint32_t left = length; left > 0;) {
            size_t n = left < sizeof buf ? left : sizeof buf;
            if (fread(buf, 1, n, fp) != n) return 0;
            crc = crc_update(crc, buf, n);
            left -= (uint32_t)n;
        }
        if (fread(tail, 1, 4, fp) != 4) return 0;
        crc ^= 0xFFFFFFFFu;
        if (crc != be32(tail)) {
            snprintf(msg, msglen, "%.4s chunk #%d: CRC error (stored %08x, computed %08x)", (const char *)head + 4,
                     index, be32(tail), crc);
            return 1;
        }
        if (memcmp(head + 4, "IEND", 4) == 0) return 0;
    }
}

typedef enum { PROBE, DECODE } read_mode;

static int png_read_common(read_mode mode, const char *path, const cic_limits *limits, cic_info *info,
                           const cic_info *expected, void *pixels, size_t capacity, char *err, size_t errlen) {
    if (path == NULL || (mode == PROBE && info == NULL) ||
        (mode == DECODE && (expected == NULL || pixels == NULL))) {
        cic_message(err, errlen, "invalid arguments");
        return CIC_ERR_ARGUMENT;
    }
    cic_limits lim;
    cic_effective_limits(limits, &lim);
    png_ctx c = {0};
    c.fp = fopen(path, "rb");
    if (c.fp == NULL) {
        cic_message(err, errlen, "cannot open: %s", strerror(errno));
        return CIC_ERR_IO;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_png_error, on_png_warning);
    png_infop pinfo = png != NULL ? png_create_info_struct(png) : NULL;
    if (pinfo == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        fclose(c.fp);
        cic_message(err, errlen, "libpng could not allocate its state");
        return CIC_ERR_IO;
    }
    png_set_read_fn(png, &c, read_fn);
    png_set_user_limits(png, lim.max_dimension, lim.max_dimension);
    if (lim.chunk_cache_max) png_set_chunk_cache_max(png, lim.chunk_cache_max);
    if (lim.chunk_malloc_max) png_set_chunk_malloc_max(png, (png_alloc_size_t)lim.chunk_malloc_max);

    int status;
    if (mode == PROBE) {
        cic_info out = {0};
        status = probe_guarded(&c, png, pinfo, &lim, &out);
        if (status == CIC_OK) *info = out;
    } else {
        status = decode_guarded(&c, png, pinfo, &lim, expected, (uint8_t *)pixels, capacity);
    }
    if (status == CIC_ERR_CORRUPT) {
        char crc_msg[160], decoder_msg[sizeof c.msg];
        if (find_crc_mismatch(c.fp, crc_msg, sizeof crc_msg)) {
            status = CIC_ERR_CHECKSUM;
            memcpy(decoder_msg, c.msg, sizeof decoder_msg);
            snprintf(c.msg, sizeof c.msg, "%s (decoder: %.120s)", crc_msg, decoder_msg);
        }
    }
    png_destroy_read_struct(&png, &pinfo, NULL);
    fclose(c.fp);
    if (status != CIC_OK) cic_message(err, errlen, "%s", c.msg[0] ? c.msg : "libpng failed");
    return status;
}

int cic_png_probe(const char *path, const cic_limits *limits, cic_info *info, char *err, size_t errlen) {
    return png_read_common(PROBE, path, limits, info, NULL, NULL, 0, err, errlen);
}

int cic_png_decode(const char *path, const cic_limits *limits, const cic_info *expected, void *pixels,
                   size_t capacity, char *err, size_t errlen) {
    return png_read_common(DECODE, path, limits, NULL, expected, pixels, capacity, err, errlen);
}

/* ---- writing ---- */

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

static int encode_guarded(png_ctx *c, png_structp png, png_infop info, const uint8_t *pixels, uint32_t width,
                          uint32_t height, int channels, int bits, png_text *texts, int text_count,
                          png_unknown_chunk *raw, int raw_count, png_byte *raw_names, int level) {
    /* While writing, libpng's own errors mean it rejected what we asked for (e.g. a bad text keyword). */
    if (setjmp(png_jmpbuf(png))) return c->status == CIC_ERR_CORRUPT ? CIC_ERR_ARGUMENT : c->status;
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(png, info, width, height, bits, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    if (text_count > 0) png_set_text(png, info, texts, text_count);
    if (raw_count > 0) {
        /* Written as "unknown" chunks: libpng copies them verbatim after IHDR. Colour chunks are not
         * safe-to-copy, so libpng must be told to keep them (HANDLE_CHUNK_ALWAYS). */
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, raw_names, raw_count);
        png_set_unknown_chunks(png, info, raw, raw_count);
    }
    png_write_info(png, info);
    if (bits == 16 && host_is_little_endian()) png_set_swap(png);
    size_t rowbytes = (size_t)width * (size_t)channels * (size_t)(bits / 8);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * rowbytes));
    png_write_end(png, info);
    return CIC_OK;
}

int cic_png_encode(const char *path, const void *pixels, uint32_t width, uint32_t height, int32_t channels,
                   int32_t bit_depth, const cic_text *texts, int32_t text_count, const cic_png_chunk *extra,
                   int32_t chunk_count, int32_t compression_level, int32_t do_fsync, char *err, size_t errlen) {
    if (path == NULL || pixels == NULL || width == 0 || height == 0 || channels < 1 || channels > 4 ||
        (bit_depth != 8 && bit_depth != 16) || text_count < 0 || (text_count > 0 && texts == NULL) ||
        chunk_count < 0 || (chunk_count > 0 && extra == NULL) ||
        width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX) {
        cic_message(err, errlen, "invalid arguments for a PNG (%u x %u, %d channels, %d bits)", width, height,
                    channels, bit_depth);
        return CIC_ERR_ARGUMENT;
    }
    if (compression_level < 0 || compression_level > 9) compression_level = 6;
    png_text *chunks = NULL;
    if (text_count > 0) {
        chunks = calloc((size_t)text_count, sizeof *chunks);
        if (chunks == NULL) {
            cic_message(err, errlen, "out of memory");
            return CIC_ERR_IO;
        }
        for (int i = 0; i < text_count; i++) {
            chunks[i].key = (png_charp)texts[i].key;
            chunks[i].text = (png_charp)texts[i].value;
            chunks[i].text_length = strlen(texts[i].value);
            /* tEXt is Latin-1; UTF-8 beyond ASCII goes into an uncompressed iTXt instead. */
            if (is_ascii(texts[i].value)) {
                chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
            } else {
                chunks[i].compression = PNG_ITXT_COMPRESSION_NONE;
                chunks[i].itxt_length = chunks[i].text_length;
                chunks[i].text_length = 0;
                chunks[i].lang = (png_charp) "";
                chunks[i].lang_key = (png_charp) "";
            }
        }
    }
    png_unknown_chunk *raw = NULL;
    png_byte *raw_names = NULL;
    if (chunk_count > 0) {
        raw = calloc((size_t)chunk_count, sizeof *raw);
        raw_names = calloc((size_t)chunk_count, 5);
        if (raw == NULL || raw_names == NULL) {
            free(chunks);
            free(raw);
            free(raw_names);
            cic_message(err, errlen, "out of memory");
            return CIC_ERR_IO;
        }
        for (int i = 0; i < chunk_count; i++) {
            memcpy(raw[i].name, extra[i].type, 4);
            raw[i].name[4] = 0;
            raw[i].data = (png_byte *)extra[i].data;
            raw[i].size = extra[i].length;
            raw[i].location = PNG_HAVE_IHDR;
            memcpy(raw_names + 5 * i, extra[i].type, 4);
        }
    }
    int status = CIC_OK;
    png_ctx c = {0};
    c.fp = cic_create_exclusive(path, &status, err, errlen);
    if (c.fp == NULL) {
        free(chunks);
        free(raw);
        free(raw_names);
        return status;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_png_error, on_png_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        cic_message(err, errlen, "libpng could not allocate its state");
        status = CIC_ERR_IO;
    } else {
        png_set_write_fn(png, &c, write_fn, flush_fn);
        status = encode_guarded(&c, png, info, (const uint8_t *)pixels, width, height, channels, bit_depth, chunks,
                                text_count, raw, chunk_count, raw_names, compression_level);
        png_destroy_write_struct(&png, &info);
        if (status != CIC_OK) cic_message(err, errlen, "%s", c.msg[0] ? c.msg : "libpng failed");
    }
    free(chunks);
    free(raw);
    free(raw_names);
    if (status == CIC_OK) {
        status = cic_finish_file(c.fp, do_fsync, err, errlen);
    } else {
        fclose(c.fp);
    }
    if (status != CIC_OK) unlink(path); /* we created it exclusively, so it is ours to remove */
    return status;
}
