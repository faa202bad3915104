/* JPEG through libjpeg(-turbo)'s classic API, with its error_exit turned into a longjmp (see CImageCodecs.h). */
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <jerror.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <unistd.h>

#include "cic_private.h"

typedef struct {
    struct jpeg_error_mgr pub; /* first member: libjpeg hands us a pointer to it */
    jmp_buf jump;
    int status;                   /* set before longjmp when we know better than the message code */
    char msg[JMSG_LENGTH_MAX + 64];
    int first_warning_code;       /* libjpeg only *warns* on a truncated file (and pads with gray) */
    char warning[JMSG_LENGTH_MAX];
    int serious_warnings;         /* warnings other than the benign ones below */
} jpeg_err;

/* Warnings that do not touch pixel data: junk between markers (after a complete scan, e.g. padding some
 * cameras write before EOI) and a JFIF version we do not know. Damaged scans raise other warnings too. */
static int is_benign_warning(int code) { return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR; }

static void on_jpeg_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (e->msg[0] == 0) (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* level < 0: a warning (corrupt data that libjpeg papered over); level > 0: trace output, ignored. */
static void on_jpeg_message(j_common_ptr cinfo, int level) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level >= 0) return;
    e->pub.num_warnings++;
    if (is_benign_warning(e->pub.msg_code)) return;
    if (e->serious_warnings++ == 0) {
        e->first_warning_code = e->pub.msg_code;
        (*cinfo->err->format_message)(cinfo, e->warning);
    }
}

static void jpeg_err_init(jpeg_err *e) {
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_jpeg_error;
    e->pub.emit_message = on_jpeg_message;
}

/* The status for a failed call: the code libjpeg stopped with, or the warning that explains it. */
static int classify(const jpeg_err *e) {
    if (e->status != CIC_OK) return e->status;
    if (e->serious_warnings > 0 && e->first_warning_code == JWRN_JPEG_EOF) return CIC_ERR_TRUNCATED;
    switch (e->pub.msg_code) {
    case JERR_INPUT_EOF:
    case JERR_INPUT_EMPTY: return CIC_ERR_TRUNCATED;
    case JERR_NO_SOI: return CIC_ERR_NOT_IMAGE;
    case JERR_BAD_PRECISION:
    case JERR_CONVERSION_NOTIMPL: return CIC_ERR_UNSUPPORTED;
    case JERR_IMAGE_TOO_BIG:
    case JERR_OUT_OF_MEMORY: return CIC_ERR_TOO_LARGE;
    case JERR_FILE_READ: return CIC_ERR_IO;
    default: return CIC_ERR_CORRUPT;
    }
}

/* A progressive JPEG can hold any number of scans, and each one makes libjpeg revisit the whole
 * coefficient buffer: a few KB of crafted scans can cost minutes of CPU. Real encoders write about
 * 10 scans; libjpeg-turbo 3's TurboJPEG API caps them (TJPARAM_SCANLIMIT) for the same reason. */
#define CIC_JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_progress_mgr pub;
    jpeg_err *err;
} scan_guard;

static void on_jpeg_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > CIC_JPEG_MAX_SCANS) {
        jpeg_err *e = ((scan_guard *)cinfo->progress)->err;
        e->status = CIC_ERR_UNSUPPORTED;
        snprintf(e->msg, sizeof e->msg, "progressive JPEG with more than %d scans (refused as a decoding-time bomb)",
                 CIC_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void fail(j_decompress_ptr cinfo, jpeg_err *e, int status, const char *fmt, ...) {
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    longjmp(e->jump, 1);
    (void)cinfo;
}

/* Reads markers up to the first scan, checks limits and colour space, and sets the output colour space.
 * Runs under the caller's setjmp. */
static void read_header(j_decompress_ptr cinfo, jpeg_err *e, const cic_limits *lim, cic_info *out) {
    jpeg_read_header(cinfo, TRUE);
    uint64_t pixels = (uint64_t)cinfo->image_width * cinfo->image_height;
    if (cinfo->image_width > lim->max_dimension || cinfo->image_height > lim->max_dimension ||
        pixels > lim->max_pixels) {
        fail(cinfo, e, CIC_ERR_TOO_LARGE, "%u x %u = %llu pixels exceeds the limit of %llu pixels",
             cinfo->image_width, cinfo->image_height, (unsigned long long)pixels,
             (unsigned long long)lim->max_pixels);
    }
    int channels;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        fail(cinfo, e, CIC_ERR_UNSUPPORTED, "%s JPEG is not supported (only grayscale and RGB/YCbCr)",
             cinfo->jpeg_color_space == JCS_CMYK ? "CMYK" : "YCCK");
        return;
    default:
        fail(cinfo, e, CIC_ERR_UNSUPPORTED, "JPEG with %d components in an unknown colour space is not supported",
             cinfo->num_components);
        return;
    }
    cinfo->dct_method = JDCT_ISLOW; /* the accurate integer IDCT: same pixels on every machine */
    out->width = cinfo->image_width;
    out->height = cinfo->image_height;
    out->channels = channels;
    out->bit_depth = 8;
    out->file_bit_depth = cinfo->data_precision;
    out->color_type = cinfo->jpeg_color_space;
    out->has_alpha = 0;
    out->is_palette = 0;
    out->is_interlaced = jpeg_has_multiple_scans(cinfo) ? 1 : 0;
}

static int probe_guarded(j_decompress_ptr cinfo, jpeg_err *e, const cic_limits *lim, cic_info *out) {
    if (setjmp(e->jump)) return classify(e);
    read_header(cinfo, e, lim, out);
    return CIC_OK;
}

static int decode_guarded(j_decompress_ptr cinfo, jpeg_err *e, const cic_limits *lim, const cic_info *expected,
                          uint8_t *pixels, size_t capacity) {
    if (setjmp(e->jump)) {
        cinfo->progress = NULL; /* the guard below lives in this frame */
        return classify(e);
    }
    cic_info now = {0};
    read_header(cinfo, e, lim, &now);
    if (now.width != expected->width || now.height != expected->height || now.channels != expected->channels ||
        expected->bit_depth != 8) {
        fail(cinfo, e, CIC_ERR_MISMATCH, "the file changed between probe and decode");
    }
    size_t rowbytes = (size_t)now.width * (size_t)now.channels;
    if (capacity / rowbytes < now.height) fail(cinfo, e, CIC_ERR_MISMATCH, "pixel buffer of %zu bytes is too small", capacity);
    scan_guard guard = {.err = e};
    guard.pub.progress_monitor = on_jpeg_progress;
    cinfo->progress = &guard.pub;
    jpeg_start_decompress(cinfo);
    if ((int)cinfo->output_components != now.channels || cinfo->output_width != now.width ||
        cinfo->output_height != now.height) {
        fail(cinfo, e, CIC_ERR_UNSUPPORTED, "libjpeg delivers %d components at %u x %u, expected %d at %u x %u",
             cinfo->output_components, cinfo->output_width, cinfo->output_height, now.channels, now.width,
             now.height);
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = pixels + (size_t)cinfo->output_scanline * rowbytes;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    cinfo->progress = NULL;
    /* A truncated or damaged file decodes "successfully" with gray or garbled blocks and only a warning:
     * we refuse any image libjpeg had to patch up. */
    if (e->serious_warnings > 0) {
        e->status = e->first_warning_code == JWRN_JPEG_EOF ? CIC_ERR_TRUNCATED : CIC_ERR_CORRUPT;
        snprintf(e->msg, sizeof e->msg, "%s%s", e->warning,
                 e->status == CIC_ERR_TRUNCATED ? " (file is truncated)" : " (damaged data)");
        return e->status;
    }
    return CIC_OK;
}

static int jpeg_read_common(int decode, const char *path, const cic_limits *limits, cic_info *info,
                            const cic_info *expected, void *pixels, size_t capacity, char *err, size_t errlen) {
    if (path == NULL || (!decode && info == NULL) || (decode && (expected == NULL || pixels == NULL))) {
        cic_message(err, errlen, "invalid arguments");
        return CIC_ERR_ARGUMENT;
    }
    cic_limits lim;
    cic_effective_limits(limits, &lim);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        cic_message(err, errlen, "cannot open: %s", strerror(errno));
        return CIC_ERR_IO;
    }
    struct jpeg_decompress_struct cinfo;
    jpeg_err e;
    jpeg_err_init(&e);
    cinfo.err = &e.pub;
    int status;
    if (setjmp(e.jump)) { /* only jpeg_create_decompress can get here (allocation failure) */
        status = classify(&e);
    } else {
        jpeg_create_decompress(&cinfo);
        jpeg_stdio_src(&cinfo, fp);
        if (decode) {
            status = decode_guarded(&cinfo, &e, &lim, expected, (uint8_t *)pixels, capacity);
        } else {
            cic_info out = {0};
            status = probe_guarded(&cinfo, &e, &lim, &out);
            if (status == CIC_OK) *info = out;
        }
    }
    jpeg_destroy_decompress(&cinfo);
    fclose(fp);
    if (status != CIC_OK) {
        if (status == CIC_ERR_TRUNCATED && e.warning[0] && e.pub.msg_code != JWRN_JPEG_EOF && e.status == CIC_OK)
            cic_message(err, errlen, "%s (after: %s)", e.msg, e.warning);
        else
            cic_message(err, errlen, "%s", e.msg[0] ? e.msg : "libjpeg failed");
    }
    return status;
}

int cic_jpeg_probe(const char *path, const cic_limits *limits, cic_info *info, char *err, size_t errlen) {
    return jpeg_read_common(0, path, limits, info, NULL, NULL, 0, err, errlen);
}

int cic_jpeg_decode(const char *path, const cic_limits *limits, const cic_info *expected, void *pixels,
                    size_t capacity, char *err, size_t errlen) {
    return jpeg_read_common(1, path, limits, NULL, expected, pixels, capacity, err, errlen);
}

/* ---- writing ---- */

static int is_exif(const cic_jpeg_marker *m) {
    return m->marker == 0xE1 && m->length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0;
}

static int encode_guarded(j_compress_ptr cinfo, jpeg_err *e, FILE *fp, const uint8_t *pixels, uint32_t width,
                          uint32_t height, int channels, int quality, int subsample, int progressive,
                          const char *comment, const cic_jpeg_marker *markers, int marker_count) {
    if (setjmp(e->jump)) return e->status != CIC_OK ? e->status : CIC_ERR_IO;
    jpeg_stdio_dest(cinfo, fp);
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = channels;
    cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    cinfo->dct_method = JDCT_ISLOW;
    if (channels == 3 && !subsample) { /* 4:4:4: keep full chroma resolution */
        cinfo->comp_info[0].h_samp_factor = 1;
        cinfo->comp_info[0].v_samp_factor = 1;
    }
    if (progressive) jpeg_simple_progression(cinfo);
    for (int i = 0; i < marker_count; i++)
        if (is_exif(&markers[i])) cinfo->write_JFIF_header = FALSE;
    jpeg_start_compress(cinfo, TRUE);
    for (int i = 0; i < marker_count; i++) {
        const cic_jpeg_marker *m = &markers[i];
        int app_or_com = (m->marker >= 0xE0 && m->marker <= 0xEF) || m->marker == 0xFE;
        if (app_or_com && m->data != NULL && m->length <= 65533)
            jpeg_write_marker(cinfo, m->marker, (const JOCTET *)m->data, m->length);
    }
    if (comment != NULL && comment[0] != 0) {
        size_t n = strlen(comment);
        if (n > 65533) n = 65533;
        jpeg_write_marker(cinfo, JPEG_COM, (const JOCTET *)comment, (unsigned int)n);
    }
    size_t rowbytes = (size_t)width * (size_t)channels;
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo->next_scanline * rowbytes);
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    if (ferror(fp)) {
        e->status = CIC_ERR_IO;
        snprintf(e->msg, sizeof e->msg, "write failed: %s", strerror(errno));
        return e->status;
    }
    return CIC_OK;
}

int cic_jpeg_encode(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, int32_t channels,
                    int32_t quality, int32_t subsample_chroma, int32_t progressive, const char *comment,
                    const cic_jpeg_marker *markers, int32_t marker_count, int32_t do_fsync, char *err, size_t errlen) {
    if (path == NULL || pixels == NULL || width == 0 || height == 0 || width > JPEG_MAX_DIMENSION ||
        height > JPEG_MAX_DIMENSION || (channels != 1 && channels != 3) || quality < 1 || quality > 100 ||
        marker_count < 0 || (marker_count > 0 && markers == NULL)) {
        cic_message(err, errlen, "invalid arguments for a JPEG (%u x %u, %d channels, quality %d)", width, height,
                    channels, quality);
        return CIC_ERR_ARGUMENT;
    }
    int status = CIC_OK;
    FILE *fp = cic_create_exclusive(path, &status, err, errlen);
    if (fp == NULL) return status;
    struct jpeg_compress_struct cinfo;
    jpeg_err e;
    jpeg_err_init(&e);
    cinfo.err = &e.pub;
    if (setjmp(e.jump)) {
        status = CIC_ERR_IO;
    } else {
        jpeg_create_compress(&cinfo);
        status = encode_guarded(&cinfo, &e, fp, pixels, width, height, channels, quality, subsample_chroma, progressive,
                                comment, markers, marker_count);
    }
    jpeg_destroy_compress(&cinfo);
    if (status != CIC_OK) {
        cic_message(err, errlen, "%s", e.msg[0] ? e.msg : "libjpeg failed");
        fclose(fp);
    } else {
        status = cic_finish_file(fp, do_fsync, err, errlen);
    }
    if (status != CIC_OK) unlink(path);
    return status;
}
