/*
 * test_model_io.c - model files: round trips keep every bit, and every kind
 * of damage to a file is refused with a message that says what is wrong.
 */
#define _GNU_SOURCE /* memmem */
#include "internal.h"
#include "tests.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void spit(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert(fp && fwrite(data, 1, len, fp) == len);
    fclose(fp);
}

/* A valid binary model made from the reference fixture. */
static char *valid_bin(size_t *len)
{
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &m,
                                &err) == 0, "%s", err.msg);
    const char *p = test_tmp(".safetensors");
    ck_assert_msg(at_model_save(m, p, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
    at_model_free(m);
    char *b = test_slurp(p, len);
    remove(p);
    return b;
}

static void expect_refused(const void *data, size_t len, const char *needle)
{
    const char *p = test_tmp(".safetensors");
    spit(p, data, len);
    at_model *m = NULL;
    at_error err = {.sentence = 0};
    int rc = at_model_load(p, AT_FILE_SAFETENSORS, &m, &err);
    remove(p);
    ck_assert_msg(rc == -1 && m == NULL, "damaged file was accepted (want \"%s\")", needle);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message \"%s\" lacks \"%s\"", err.msg,
                  needle);
    ck_assert_msg(strstr(err.msg, p) != NULL, "message \"%s\" does not name the file", err.msg);
}

/* replace: the file with the first occurrence of `from` in its header replaced
 * by `to` (same length, so offsets stay put). */
static char *replace(const char *file, size_t len, const char *from, const char *to)
{
    ck_assert_uint_eq(strlen(from), strlen(to));
    char *b = malloc(len);
    memcpy(b, file, len);
    char *hit = memmem(b, len, from, strlen(from));
    ck_assert_msg(hit != NULL, "\"%s\" not in the header", from);
    memcpy(hit, to, strlen(to));
    return b;
}

START_TEST(roundtrip_json_bin_json)
{
    at_model *m, *m2;
    at_error err;
    ck_assert(at_model_load(test_path("tests/fixtures/ref_post.json"), AT_FILE_AUTO, &m, &err) == 0);
    const char *j1 = test_tmp(".json"), *bin = test_tmp(".safetensors"), *j2 = test_tmp(".json");
    ck_assert_msg(at_model_save(m, j1, AT_FILE_AUTO, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_save(m, bin, AT_FILE_AUTO, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_load(bin, AT_FILE_AUTO, &m2, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_save(m2, j2, AT_FILE_AUTO, &err) == 0, "%s", err.msg);
    size_t l1, l2;
    char *a = test_slurp(j1, &l1), *b = test_slurp(j2, &l2);
    ck_assert_msg(l1 == l2 && memcmp(a, b, l1) == 0, "JSON -> binary -> JSON changed the model");
    ck_assert_uint_eq(at_model_checksum(m), at_model_checksum(m2));
    ck_assert_uint_eq(at_model_param_count(m), at_model_param_count(m2));
    free(a);
    free(b);
    remove(j1);
    remove(bin);
    remove(j2);
    at_model_free(m);
    at_model_free(m2);
}
END_TEST

/* Every weight of the fixture, read as text by an independent parser (strtof
 * over the fixture's own numbers) equals the weight attntag wrote in binary. */
START_TEST(binary_values_match_fixture_text)
{
    size_t len;
    char *bin = valid_bin(&len), *txt = test_slurp(test_path("tests/fixtures/ref_pre.json"), &len);
    char *at = strstr(txt, "\"embed.shape\"");
    ck_assert(at);
    at = strstr(at, "\"data\"");
    ck_assert(at);
    at = strchr(at, '[') + 1;
    float first = strtof(at, NULL);
    /* find embed.shape's first value in the binary via the header offsets */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)bin[i];
    char *h = strndup(bin + 8, hl), *e = strstr(h, "\"embed.shape\"");
    ck_assert(e);
    char *off = strstr(e, "data_offsets");
    ck_assert(off);
    size_t begin = strtoul(strchr(off, '[') + 1, NULL, 10);
    float got;
    memcpy(&got, bin + 8 + hl + begin, 4);
    ck_assert_msg(got == first, "binary %.9g, fixture %.9g", got, first);
    free(h);
    free(bin);
    free(txt);
}
END_TEST

START_TEST(truncated)
{
    size_t len;
    char *b = valid_bin(&len);
    expect_refused(b, len / 2, "data_offsets");
    expect_refused(b, 5, "too short");
    expect_refused(b, 0, "too short");
    free(b);
}
END_TEST

START_TEST(bad_header_length)
{
    size_t len;
    char *b = valid_bin(&len);
    b[6] = 0x7f; /* a length far past the file */
    expect_refused(b, len, "header length");
    memset(b, 0, 8);
    expect_refused(b, len, "header length");
    free(b);
}
END_TEST

START_TEST(bad_offsets)
{
    size_t len;
    char *b = valid_bin(&len);
    /* find the first data_offsets [0,N] and make it start past the end */
    char *c = replace(b, len, "\"data_offsets\":[0,", "\"data_offsets\":[9,");
    expect_refused(c, len, "embed.");
    free(c);
    free(b);
}
END_TEST

START_TEST(out_of_range_offsets)
{
    size_t len;
    char *b = valid_bin(&len);
    /* the last tensor's end pushed past the data */
    char *hit = memmem(b, len, "\"lexicon.bits\"", 14);
    ck_assert(hit);
    char *off = strstr(hit, "data_offsets\":[");
    ck_assert(off);
    char *comma = strchr(off, ',');
    char *close = strchr(comma, ']');
    memset(comma + 1, '9', (size_t)(close - comma - 1));
    expect_refused(b, len, "out of range");
    free(b);
}
END_TEST

START_TEST(overlapping_offsets)
{
    size_t len;
    char *b = valid_bin(&len);
    /* two tensors claiming the same bytes: shift one F32 tensor's range back
     * by 4 bytes at both ends, so it overlaps its neighbour and leaves a gap */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    char *h = b + 8;
    char *e = memmem(h, hl, "\"heads.upos.bias\"", 17);
    ck_assert(e);
    char *off = strstr(e, "data_offsets\":[") + 15;
    long a0 = strtol(off, NULL, 10);
    long a1 = strtol(strchr(off, ',') + 1, NULL, 10);
    char want[64], now[64];
    snprintf(now, sizeof now, "[%ld,%ld]", a0, a1);
    ck_assert(a0 >= 8);
    /* same number of characters: subtract 4 from both, pad with spaces */
    snprintf(want, sizeof want, "[%ld,%ld]", a0 - 4, a1 - 4);
    while (strlen(want) < strlen(now))
        strcat(want, " ");
    ck_assert_uint_eq(strlen(want), strlen(now));
    char *c = replace(b, len, now, want);
    expect_refused(c, len, "overlaps");
    free(c);
    free(b);
}
END_TEST

START_TEST(wrong_dtype)
{
    size_t len;
    char *b = valid_bin(&len);
    char *c = replace(b, len, "\"dtype\":\"F32\"", "\"dtype\":\"I32\"");
    expect_refused(c, len, "dtype \"I32\" is not supported");
    free(c);
    c = replace(b, len, "\"dtype\":\"F32\"", "\"dtype\":\"F16\"");
    expect_refused(c, len, "need");
    free(c);
    free(b);
}
END_TEST

/* with_field: the file with tensor's `field` set to the JSON `value`, the
 * header re-serialised (the data bytes unchanged). */
static char *with_field(const char *file, size_t len, const char *tensor, const char *field,
                        const char *value, size_t *out_len)
{
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)file[i];
    cJSON *h = cJSON_ParseWithLength(file + 8, hl);
    ck_assert(h);
    cJSON *t = cJSON_GetObjectItem(h, tensor);
    ck_assert_msg(t, "no tensor %s", tensor);
    cJSON_ReplaceItemInObject(t, field, cJSON_Parse(value));
    char *text = cJSON_PrintUnformatted(h);
    size_t tl = strlen(text), data = len - 8 - hl;
    char *out = malloc(8 + tl + data);
    for (int i = 0; i < 8; i++)
        out[i] = (char)((uint64_t)tl >> (8 * i));
    memcpy(out + 8, text, tl);
    memcpy(out + 8 + tl, file + 8 + hl, data);
    *out_len = 8 + tl + data;
    free(text);
    cJSON_Delete(h);
    return out;
}

START_TEST(absurd_dims)
{
    size_t len, n;
    char *b = valid_bin(&len);
    char *c = with_field(b, len, "embed.char", "shape", "[4294967296, 4294967296]", &n);
    expect_refused(c, n, "larger than the file");
    free(c);
    c = with_field(b, len, "embed.char", "shape", "[1, 2, 3, 4, 5]", &n);
    expect_refused(c, n, "5 dimensions");
    free(c);
    c = with_field(b, len, "embed.char", "shape", "[-3, 8]", &n);
    expect_refused(c, n, "not a whole number");
    free(c);
    c = with_field(b, len, "embed.char", "data_offsets", "[0, 1e300]", &n);
    expect_refused(c, n, "data_offsets must be two whole numbers");
    free(c);
    free(b);
}
END_TEST

START_TEST(nan_weight)
{
    size_t len;
    char *b = valid_bin(&len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    float nan = NAN;
    memcpy(b + 8 + hl, &nan, 4); /* the first tensor is F32 */
    expect_refused(b, len, "non-finite");
    free(b);
}
END_TEST

/* A 16-bit table (kept 16-bit in memory) is checked too. */
START_TEST(nan_in_16_bit_table)
{
    at_model *m;
    at_error err;
    ck_assert(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &m, &err) == 0);
    ck_assert_msg(at_model_to_f16(m, &err) == 0, "%s", err.msg);
    const char *p = test_tmp(".safetensors");
    ck_assert(at_model_save(m, p, AT_FILE_SAFETENSORS, &err) == 0);
    at_model_free(m);
    ck_assert_msg(at_model_load(p, AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg); /* valid */
    at_model_free(m);
    size_t len;
    char *b = test_slurp(p, &len);
    remove(p);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    char *h = strndup(b + 8, hl), *e = strstr(h, "\"embed.word\"");
    ck_assert(e);
    size_t begin = strtoul(strchr(strstr(e, "data_offsets"), '[') + 1, NULL, 10);
    free(h);
    /* a NaN (0x7E00) or an infinity (0xFC00) at every place in a group of
     * eight halves, and in the next group */
    for (size_t i = 1; i <= 9; i++) {
        char want[64], was0 = b[8 + hl + begin + 2 * i], was1 = b[8 + hl + begin + 2 * i + 1];
        b[8 + hl + begin + 2 * i] = 0x00;
        b[8 + hl + begin + 2 * i + 1] = (char)(i % 2 ? 0x7E : 0xFC);
        snprintf(want, sizeof want, "non-finite value at element %zu", i);
        expect_refused(b, len, want);
        b[8 + hl + begin + 2 * i] = was0;
        b[8 + hl + begin + 2 * i + 1] = was1;
    }
    free(b);
}
END_TEST

START_TEST(checksum_catches_bit_rot)
{
    size_t len;
    char *b = valid_bin(&len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    b[8 + hl + 1] ^= 0x01; /* a low mantissa bit: still a finite number */
    expect_refused(b, len, "checksum mismatch");
    free(b);
}
END_TEST

START_TEST(crc32_of_older_files_still_checked)
{
    size_t len;
    char *b = valid_bin(&len);
    /* a file without the CRC-32C (as written before it): the CRC-32 is checked */
    char *old = replace(b, len, "attntag.crc32c", "attntag.xxxxxx");
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)old[i];
    old[8 + hl + 1] ^= 0x01;
    expect_refused(old, len, "header says CRC-32 ");
    free(old);
    free(b);
}
END_TEST

/* lexicon_bits_of: the lexicon bits at_feats_add finds for word. */
static int lexicon_bits_of(const at_model *m, const char *word)
{
    at_feats f;
    at_error err;
    at_feats_init(&f);
    ck_assert(at_feats_add(m, &f, word, strlen(word), &err) == 0);
    int bits = f.lex[0];
    at_feats_free(&f);
    return bits;
}

/* The lexicon's hash table and its words' starts are written into the file
 * and used as they are; its checksum catches a damaged table (tables that lie
 * under a matching checksum: tests/bad_inputs.py). */
START_TEST(lexicon_index_in_the_file)
{
    at_model *m, *m2;
    at_error err;
    ck_assert(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &m, &err) == 0);
    const char *p = test_tmp(".safetensors");
    ck_assert_msg(at_model_save(m, p, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_load(p, AT_FILE_AUTO, &m2, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lexicon_bits_of(m2, "dog"), 2);
    ck_assert_int_eq(lexicon_bits_of(m2, "café"), 5);
    ck_assert_int_eq(lexicon_bits_of(m2, "cat"), lexicon_bits_of(m, "cat"));
    ck_assert_int_eq(lexicon_bits_of(m2, "zebra-crossing"), 0);
    /* the words read back through the starts are the words written */
    char **w;
    ck_assert_msg(at_model_lexicon_words(m2, &w, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(at_model_lexicon_size(m2), at_model_lexicon_size(m));
    for (size_t i = 0; i < at_model_lexicon_size(m2); i++)
        ck_assert_str_eq(w[i], m->lex_words[i]);
    free(w);
    at_model_free(m2);
    size_t len;
    char *b = test_slurp(p, &len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    char *h = strndup(b + 8, hl), *e = strstr(h, "\"lexicon.index\"");
    ck_assert(e);
    size_t begin = strtoul(strchr(strstr(e, "data_offsets"), '[') + 1, NULL, 10);
    free(h);
    b[8 + hl + begin] ^= 1;
    spit(p, b, len);
    ck_assert(at_model_load(p, AT_FILE_AUTO, &m2, &err) != 0);
    ck_assert_msg(strstr(err.msg, "attntag.lexicon.crc32c says"), "%s", err.msg);
    free(b);
    remove(p);
    at_model_free(m);
}
END_TEST

START_TEST(shape_against_config)
{
    size_t len;
    char *b = valid_bin(&len);
    char *c = replace(b, len, "\\\"dim\\\":16", "\\\"dim\\\":20");
    expect_refused(c, len, "the config implies");
    free(c);
    c = replace(b, len, "\\\"heads\\\":4", "\\\"heads\\\":3");
    expect_refused(c, len, "not a multiple of heads");
    free(c);
    c = replace(b, len, "\"attntag-model-1\"", "\"attntag-model-9\"");
    expect_refused(c, len, "not an attntag model");
    free(c);
    free(b);
}
END_TEST

START_TEST(json_model_errors)
{
    struct { const char *text, *needle; } cases[] = {
        {"{", "not a JSON object"},
        {"[1,2]", "not a JSON object"},
        {"{\"format\": \"other\"}", "not an attntag model"},
        {"{\"format\": \"attntag-model-1\", \"config\": {\"dim\": 8}}", "config: missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *p = test_tmp(".json");
        spit(p, cases[i].text, strlen(cases[i].text));
        at_model *m = NULL;
        at_error err;
        ck_assert_int_eq(at_model_load(p, AT_FILE_JSON, &m, &err), -1);
        ck_assert_msg(strstr(err.msg, cases[i].needle), "case %zu: \"%s\" lacks \"%s\"", i,
                      err.msg, cases[i].needle);
        remove(p);
    }
    /* the optional "int8" key: true or false, nothing else */
    size_t len;
    char *cfg = test_slurp(test_path("tests/fixtures/ref_pre.json"), &len);
    char *eps = strstr(cfg, "\"ln_eps\"");
    ck_assert(eps);
    for (int good = 0; good < 2; good++) {
        char *text = malloc(len + 32);
        snprintf(text, len + 32, "%.*s\"int8\": %s, %s", (int)(eps - cfg), cfg,
                 good ? "true" : "1", eps);
        const char *p = test_tmp(".json");
        spit(p, text, strlen(text));
        at_model *m = NULL;
        at_error err;
        int rc = at_model_load(p, AT_FILE_JSON, &m, &err);
        if (good)
            ck_assert_msg(rc == 0 && at_model_config(m)->int8 == 1, "%s", err.msg);
        else
            ck_assert_msg(rc == -1 && strstr(err.msg, "\"int8\" must be true or false"), "%s",
                          err.msg);
        at_model_free(m);
        remove(p);
        free(text);
    }
    free(cfg);
    /* a valid model with one value too few in one tensor */
    char *t = test_slurp(test_path("tests/fixtures/ref_post.json"), &len);
    char *hit = strstr(t, "\"heads.upos.bias\"");
    ck_assert(hit);
    char *data = strchr(strstr(hit, "\"data\""), '[');
    char *comma = strchr(data, ',');
    memset(data + 1, ' ', (size_t)(comma - data)); /* drop the first value */
    const char *p = test_tmp(".json");
    spit(p, t, len);
    at_model *m = NULL;
    at_error err;
    ck_assert_int_eq(at_model_load(p, AT_FILE_AUTO, &m, &err), -1);
    ck_assert_msg(strstr(err.msg, "heads.upos.bias"), "%s", err.msg);
    remove(p);
    free(t);
}
END_TEST

START_TEST(new_model_save_load)
{
    at_config c;
    at_config_default(&c);
    c.dim = 8;
    c.heads = 2;
    c.ffn_dim = 4;
    c.char_buckets = 16;
    c.char_dim = 4;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "a", "b"}, *tags0[] = {"X", "Y"};
    const char *const *tags[] = {tags0};
    size_t n_tags[] = {2};
    at_model *m, *m2;
    at_error err;
    ck_assert_msg(at_model_new(&c, vocab, 3, tags, n_tags, &m, &err) == 0, "%s", err.msg);
    size_t n;
    float *w = at_model_tensor_f32(m, "embed.word", &n);
    ck_assert(w && n == 3 * 8);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)i * 0.25f - 1.0f;
    const char *p = test_tmp(".safetensors");
    ck_assert_msg(at_model_save(m, p, AT_FILE_AUTO, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_load(p, AT_FILE_AUTO, &m2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(at_model_checksum(m), at_model_checksum(m2));
    ck_assert_str_eq(at_model_vocab_word(m2, 2), "b");
    ck_assert_str_eq(at_model_tag(m2, 0, 1), "Y");
    ck_assert(at_model_tensor_f32(m2, "embed.word", NULL) == NULL); /* loaded: read-only */
    remove(p);
    at_model_free(m);
    at_model_free(m2);
    const char *bad[] = {"a", "<unk>"};
    ck_assert_int_eq(at_model_new(&c, bad, 2, tags, n_tags, &m, &err), -1);
    ck_assert(strstr(err.msg, "<unk>"));
    const char *dup[] = {"<unk>", "a", "a"};
    ck_assert_int_eq(at_model_new(&c, dup, 3, tags, n_tags, &m, &err), -1);
    ck_assert_msg(strstr(err.msg, "twice"), "%s", err.msg);
}
END_TEST

/* Errors: context goes before the message and keeps its kind; a message too
 * long for both is cut at its end; a model file's errors are of kind model,
 * an output path's of kind output. */
START_TEST(errors_carry_a_kind)
{
    at_error err;
    at_error_of(&err, AT_ERR_MEMORY, "out of memory");
    at_error_context(&err, "%s:%d", "file.conllu", 7);
    ck_assert_str_eq(err.msg, "file.conllu:7: out of memory");
    ck_assert_int_eq(err.kind, AT_ERR_MEMORY);
    at_error_set(&err, "%s", "abc");
    ck_assert_int_eq(err.kind, AT_ERR_INPUT);
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    at_error_set(&err, "%s", longer); /* cut to the buffer */
    ck_assert_uint_eq(strlen(err.msg), sizeof err.msg - 1);
    at_error_context(&err, "ctx");
    ck_assert_uint_eq(strlen(err.msg), sizeof err.msg - 1);
    ck_assert(strncmp(err.msg, "ctx: xxx", 8) == 0);
    at_error_context(&err, "%s", longer); /* the context alone fills it */
    ck_assert_uint_eq(strlen(err.msg), sizeof err.msg - 1);
    at_model *m;
    const char *bad = test_tmp(".safetensors");
    FILE *fp = fopen(bad, "wb");
    ck_assert(fp);
    fputs("not a model at all, but long enough to have a header length", fp);
    fclose(fp);
    ck_assert_int_eq(at_model_load(bad, AT_FILE_AUTO, &m, &err), -1);
    ck_assert_int_eq(err.kind, AT_ERR_MODEL);
    ck_assert_int_eq(at_model_load(test_tmp(".absent"), AT_FILE_AUTO, &m, &err), -1);
    ck_assert_int_eq(err.kind, AT_ERR_MODEL);
    at_outfile *o;
    char path[4096]; /* in a directory that is not there */
    snprintf(path, sizeof path, "%s/out.txt", test_tmp(".absent-dir"));
    ck_assert_int_eq(at_outfile_open(path, &o, &err), -1);
    ck_assert_int_eq(err.kind, AT_ERR_OUTPUT);
}
END_TEST

Suite *model_io_suite(void)
{
    Suite *s = suite_create("model_io");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, roundtrip_json_bin_json);
    tcase_add_test(tc, errors_carry_a_kind);
    tcase_add_test(tc, binary_values_match_fixture_text);
    tcase_add_test(tc, truncated);
    tcase_add_test(tc, bad_header_length);
    tcase_add_test(tc, bad_offsets);
    tcase_add_test(tc, out_of_range_offsets);
    tcase_add_test(tc, overlapping_offsets);
    tcase_add_test(tc, wrong_dtype);
    tcase_add_test(tc, absurd_dims);
    tcase_add_test(tc, nan_weight);
    tcase_add_test(tc, nan_in_16_bit_table);
    tcase_add_test(tc, checksum_catches_bit_rot);
    tcase_add_test(tc, crc32_of_older_files_still_checked);
    tcase_add_test(tc, lexicon_index_in_the_file);
    tcase_add_test(tc, shape_against_config);
    tcase_add_test(tc, json_model_errors);
    tcase_add_test(tc, new_model_save_load);
    suite_add_tcase(s, tc);
    return s;
}
