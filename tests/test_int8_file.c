/*
 * test_int8_file.c - the 8-bit packs an int8 model's file stores: read as
 * they are, they give the very bits that rounding the weights at load gives;
 * once the weights change (or were changed in the file by another tool) they
 * are not used; and a file's packs that at_pack_int8 could not have made are
 * refused (tests/bad_inputs.py has more of those, from the command line).
 */
#define _GNU_SOURCE /* memmem */
#include "tests.h"

#include "internal.h"
#include "kernels.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void spit(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert(fp && fwrite(data, 1, len, fp) == len);
    fclose(fp);
}

static at_model *load(const char *path)
{
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_load(path, AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
    return m;
}

/* packed_copy: m marked int8 and saved as safetensors (with packs). */
static const char *packed_copy(at_model *m)
{
    at_error err;
    const char *p = test_tmp(".safetensors");
    ck_assert(at_model_set_int8(m, 1, &err) == 0);
    ck_assert_msg(at_model_save(m, p, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
    return p;
}

/* The probabilities of every tag set for a few sentences of m's vocabulary
 * (and words it does not know), one after the other. */
typedef struct run {
    float *p;
    size_t n;
} run;

static run tag_all(const at_model *m)
{
    static const char *const extra[] = {"Zyx", "running", "42", ",", "UNKNOWN", "e-mail"};
    at_feats f;
    at_error err;
    at_feats_init(&f);
    size_t nv = at_model_vocab_size(m), sent[4] = {0};
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < 5 + 4 * (size_t)s; i++) {
            const char *w = i % 3 == 2 ? extra[(i + (size_t)s) % 6]
                                       : at_model_vocab_word(m, 1 + (i * 7 + (size_t)s) % (nv - 1));
            ck_assert_msg(at_feats_add(m, &f, w, strlen(w), &err) == 0, "%s", err.msg);
        }
        sent[s + 1] = f.n;
    }
    const at_config *c = at_model_config(m);
    size_t total = 0;
    for (int t = 0; t < c->n_tagsets; t++)
        total += f.n * at_model_n_tags(m, t);
    run r = {calloc(total, sizeof(float)), total};
    uint32_t *tags[AT_MAX_TAGSETS];
    float *probs[AT_MAX_TAGSETS];
    size_t at = 0;
    for (int t = 0; t < c->n_tagsets; t++) {
        tags[t] = calloc(f.n, sizeof **tags);
        probs[t] = r.p + at;
        at += f.n * at_model_n_tags(m, t);
    }
    at_state *st;
    ck_assert(at_state_new_batch(m, 64, &st, &err) == 0);
    ck_assert_msg(at_tag_batch(m, st, &f, sent, 3, tags, probs, &err) == 0, "%s", err.msg);
    at_state_free(st);
    for (int t = 0; t < c->n_tagsets; t++)
        free(tags[t]);
    at_feats_free(&f);
    return r;
}

static int same(run a, run b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n * sizeof *a.p) == 0;
}

/* Each matrix's pack as read from the file is byte for byte the one
 * at_pack_int8 makes from the weights: bytes, scales, sums, sizes. */
static void packs_equal_rounding(const at_model *m)
{
    at_error err;
    const at_packs *P = at_model_packs(m, &err);
    ck_assert(P != NULL);
    const at_config *c = at_model_config(m);
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    for (int l = 0; l < c->layers; l++) {
        struct { const char *name; int slot; size_t out, in; } mats[] = {
            {"attn.q", AT_PK_Q, d, d}, {"attn.k", AT_PK_K, d, d}, {"attn.v", AT_PK_V, d, d},
            {"attn.o", AT_PK_O, d, d}, {"window", AT_PK_WIN, d, (2 * (size_t)c->window[l] + 1) * d},
            {"ffn.up", AT_PK_UP, f, d}, {"ffn.down", AT_PK_DOWN, d, f}};
        for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) {
            bool attn = mats[i].slot <= AT_PK_O, win = mats[i].slot == AT_PK_WIN;
            if ((attn && c->mixer[l] != AT_MIX_ATTENTION) || (win && c->mixer[l] != AT_MIX_WINDOW))
                continue;
            char name[96];
            snprintf(name, sizeof name, "layers.%d.%s.weight", l, mats[i].name);
            const at_tensor *t = at_model_find(m, name);
            ck_assert(t != NULL);
            float *W = malloc(t->count * sizeof *W);
            if (t->f32)
                memcpy(W, t->f32, t->count * sizeof *W);
            else
                at_halves(t->data, t->count, W, 0);
            at_packed want;
            ck_assert(at_pack_int8(W, mats[i].out, mats[i].in, &want) == 0);
            const at_packed *got = &P->layer[l][mats[i].slot];
            size_t panels = (mats[i].out + 15) / 16;
            ck_assert_msg(got->q && got->in == want.in && got->out == want.out &&
                          got->kp == want.kp, "%s: sizes", name);
            ck_assert_msg(memcmp(got->q, want.q, panels * want.kp * 16) == 0, "%s: bytes", name);
            ck_assert_msg(memcmp(got->scale, want.scale, panels * 16 * sizeof *want.scale) == 0,
                          "%s: scales", name);
            ck_assert_msg(memcmp(got->colsum, want.colsum, panels * 16 * sizeof *want.colsum) == 0,
                          "%s: sums", name);
            at_packed_free(&want);
            free(W);
        }
    }
}

/* a model of every mixer: window FC, attention, none */
static at_model *mixed_model(void)
{
    at_config c;
    at_error err;
    const char *cfg = "{\"dim\": 12, \"heads\": 3, \"layers\": 3, \"ffn_dim\": 22, \"max_len\": 16, "
                      "\"norm\": \"pre\", \"activation\": \"gelu\", \"window\": [1, 0, 0], "
                      "\"mixer\": [\"window\", \"attention\", \"none\"], \"rel_pos\": 2, "
                      "\"abs_pos\": true, \"lowercase\": true, \"char_buckets\": 32, "
                      "\"char_dim\": 6, \"ngram_min\": 2, \"ngram_max\": 3, \"shape\": true, "
                      "\"lexicon_bits\": 0, \"ln_eps\": 1e-5, \"tagsets\": [\"upos\"]}";
    ck_assert_msg(at_config_from_json(&c, cfg, strlen(cfg), &err) == 0, "%s", err.msg);
    static const char *const vocab[] = {"<unk>", "the", "cat", "sat", "on", "mat", "."};
    return test_random_model(&c, vocab, 7, 7, 5, 0.7f);
}

START_TEST(stored_packs_give_the_bits_of_rounding_at_load)
{
    for (int which = 0; which < 3; which++) {
        at_model *src = which == 2 ? mixed_model()
                                   : load(test_path(which ? "tests/fixtures/ref_post.json"
                                                          : "tests/fixtures/ref_pre.json"));
        const char *bin = packed_copy(src), *json = test_tmp(".json");
        at_error err;
        ck_assert_msg(at_model_save(src, json, AT_FILE_JSON, &err) == 0, "%s", err.msg);
        at_model *stored = load(bin), *rounded = load(bin), *from_json = load(json);
        ck_assert_int_eq(at_model_int8_stored(stored), 1);
        ck_assert_int_eq(at_model_int8_stored(from_json), 0); /* JSON keeps no packs */
        at_model_changed(rounded); /* as if the weights had changed: rounded again */
        ck_assert_int_eq(at_model_int8_stored(rounded), 0);
        packs_equal_rounding(stored);
        packs_equal_rounding(rounded);
        run a = tag_all(stored), b = tag_all(rounded), j = tag_all(from_json);
        ck_assert_msg(same(a, b) && same(a, j), "model %d: stored packs change the bits", which);
        /* a file saved from the loaded one has the same packs, byte for byte */
        const char *again = test_tmp(".safetensors");
        ck_assert_msg(at_model_save(stored, again, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
        size_t l1, l2;
        char *f1 = test_slurp(bin, &l1), *f2 = test_slurp(again, &l2);
        ck_assert_msg(l1 == l2 && memcmp(f1, f2, l1) == 0, "model %d: saved again, it differs",
                      which);
        free(f1), free(f2), free(a.p), free(b.p), free(j.p);
        at_model_free(stored), at_model_free(rounded), at_model_free(from_json);
        at_model_free(src);
        remove(bin), remove(json), remove(again);
    }
}
END_TEST

/* The file's header, parsed; *data: where its data starts. */
static cJSON *header_of(const char *b, size_t *data)
{
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    cJSON *h = cJSON_ParseWithLength(b + 8, (size_t)hl);
    ck_assert(h != NULL);
    *data = 8 + (size_t)hl;
    return h;
}

static void range_of(const cJSON *h, const char *name, size_t *begin, size_t *end)
{
    const cJSON *off = cJSON_GetObjectItem(cJSON_GetObjectItem(h, name), "data_offsets");
    ck_assert_msg(off != NULL, "no tensor %s", name);
    *begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    *end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
}

/* set_meta: metadata key's 8 hex digits in b's header replaced by v's. */
static void set_meta(char *b, size_t len, const char *key, uint32_t v)
{
    char pat[64], hex[16];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    char *at = memmem(b, len, pat, strlen(pat));
    ck_assert_msg(at != NULL, "no %s", key);
    snprintf(hex, sizeof hex, "%08x", v);
    memcpy(at + strlen(pat), hex, 8);
}

/* packs_crc: the CRC-32C of the pack tensors, in name order (as the loader). */
static uint32_t packs_crc(const char *b, const cJSON *h, size_t data)
{
    const char *names[512];
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, h)
        if (at_int8_name(it->string) && n < 512)
            names[n++] = it->string;
    for (int i = 1; i < n; i++) /* insertion sort by strcmp */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    uint32_t crc = 0;
    for (int i = 0; i < n; i++) {
        size_t b0, e0;
        range_of(h, names[i], &b0, &e0);
        crc = at_crc32c(crc, b + data + b0, e0 - b0);
    }
    return crc;
}

/* A file whose packs are well-formed but are not the weights' (output 0 of
 * one matrix negated, the checksum made to match): read as they are, they
 * change the probabilities; once the weights are said to have changed, the
 * weights are rounded again and the file's packs no longer count. */
START_TEST(packs_are_not_used_once_the_weights_change)
{
    at_model *src = load(test_path("tests/fixtures/ref_pre.json"));
    const char *p = packed_copy(src);
    size_t len, data, b0, e0;
    char *b = test_slurp(p, &len);
    cJSON *h = header_of(b, &data);
    range_of(h, "layers.0.ffn.up.int8", &b0, &e0);
    for (size_t k = 0; k < e0 - b0; k += 64) /* panel 0, output 0: bytes 0-3 of each group */
        for (int i = 0; i < 4; i++)
            b[data + b0 + k + (size_t)i] = (char)-(signed char)b[data + b0 + k + (size_t)i];
    set_meta(b, len, "attntag.int8.crc32c", packs_crc(b, h, data));
    const char *q = test_tmp(".safetensors");
    spit(q, b, len);
    at_model *changed = load(q), *rounded = load(p);
    ck_assert_int_eq(at_model_int8_stored(changed), 1);
    run r = tag_all(rounded), c1 = tag_all(changed);
    ck_assert_msg(!same(r, c1), "the file's packs were not used");
    at_model_changed(changed);
    ck_assert_int_eq(at_model_int8_stored(changed), 0);
    run c2 = tag_all(changed);
    ck_assert_msg(same(r, c2), "stale packs were used after the weights changed");
    /* saving writes the packs of the weights, not the file's */
    const char *again = test_tmp(".safetensors");
    at_error err;
    ck_assert_msg(at_model_save(changed, again, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
    at_model *re = load(again);
    run c3 = tag_all(re);
    ck_assert_int_eq(at_model_int8_stored(re), 1);
    ck_assert(same(r, c3));
    /* F16 weights are other weights: their packs are made again too */
    at_model *h16 = load(q);
    ck_assert(at_model_to_f16(h16, &err) == 0);
    ck_assert_int_eq(at_model_int8_stored(h16), 0);
    free(r.p), free(c1.p), free(c2.p), free(c3.p);
    at_model_free(changed), at_model_free(rounded), at_model_free(re), at_model_free(h16);
    at_model_free(src);
    cJSON_Delete(h);
    free(b);
    remove(p), remove(q), remove(again);
}
END_TEST

/* A weight changed in the file by another tool, with the weights' checksums
 * made to match but the packs left as they were: the packs say they were
 * made from other weights, and the loader rounds the new ones instead. */
START_TEST(packs_of_other_weights_are_not_used)
{
    at_model *src = load(test_path("tests/fixtures/ref_pre.json"));
    const char *p = packed_copy(src);
    size_t len, data, b0, e0;
    char *b = test_slurp(p, &len);
    cJSON *h = header_of(b, &data);
    range_of(h, "layers.1.attn.v.weight", &b0, &e0);
    float w;
    memcpy(&w, b + data + b0 + 8, 4);
    w = w * 0.5f + 0.25f;
    memcpy(b + data + b0 + 8, &w, 4);
    const char *q = test_tmp(".safetensors");
    spit(q, b, len);
    /* the weights' checksums, from the loader's own view of the new weights:
     * load it as a JSON-less copy with the checksums taken out */
    char *nock = malloc(len);
    memcpy(nock, b, len);
    memcpy(memmem(nock, len, "attntag.crc32c", 14), "attntag.xxxxxx", 14);
    memcpy(memmem(nock, len, "attntag.checksum", 16), "attntag.xxxxxxxx", 16);
    spit(q, nock, len);
    at_model *tmp = load(q);
    set_meta(b, len, "attntag.crc32c", at_model_crc32c(tmp));
    set_meta(b, len, "attntag.checksum", at_model_checksum(tmp));
    at_model_free(tmp);
    spit(q, b, len);
    at_model *m = load(q), *rounded = load(q);
    ck_assert_int_eq(at_model_int8_stored(m), 0);
    at_model_changed(rounded);
    run a = tag_all(m), r = tag_all(rounded);
    ck_assert(same(a, r));
    packs_equal_rounding(m);
    free(a.p), free(r.p), free(nock);
    at_model_free(m), at_model_free(rounded), at_model_free(src);
    cJSON_Delete(h);
    free(b);
    remove(p), remove(q);
}
END_TEST

Suite *int8_file_suite(void)
{
    Suite *s = suite_create("int8_file");
    TCase *tc = tcase_create("packs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stored_packs_give_the_bits_of_rounding_at_load);
    tcase_add_test(tc, packs_are_not_used_once_the_weights_change);
    tcase_add_test(tc, packs_of_other_weights_are_not_used);
    suite_add_tcase(s, tc);
    return s;
}
