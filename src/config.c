/*
 * config.c - the model configuration: defaults, range checks, and its JSON
 * form (the "config" object of both model file formats).
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void at_config_default(at_config *c)
{
    memset(c, 0, sizeof *c);
    c->dim = 128;
    c->heads = 4;
    c->layers = 2;
    c->ffn_dim = 256;
    c->max_len = 128;
    c->norm = AT_NORM_PRE;
    c->activation = AT_ACT_GELU;
    c->window[0] = 1; /* local first layer, global second: the best trial */
    c->window[1] = 0;
    c->rel_pos = 8;
    c->abs_pos = 0;
    c->lowercase = 1;
    c->char_buckets = 32768;
    c->char_dim = 32;
    c->ngram_min = 2;
    c->ngram_max = 5;
    c->shape = 1;
    c->lexicon_bits = 0;
    c->ln_eps = 1e-5;
    c->n_tagsets = 2;
    strcpy(c->tagset[0], "upos");
    strcpy(c->tagset[1], "xpos");
}

/* Limits keep every product of sizes far from overflow and memory sane. */
enum { MAX_DIM = 4096, MAX_HEADS = 256, MAX_FFN = 65536, MAX_LEN = 4096,
       MAX_BUCKETS = 1 << 24, MAX_NGRAM = 16, MAX_WINDOW_FC = 16 };

#define RANGE(field, lo, hi)                                                               \
    do {                                                                                   \
        if (c->field < (lo) || c->field > (hi))                                            \
            return at_error_set(err, "config: " #field " is %d, expected %d to %d",       \
                                (int)c->field, (int)(lo), (int)(hi));                      \
    } while (0)

int at_config_check(const at_config *c, at_error *err)
{
    RANGE(dim, 2, MAX_DIM);
    RANGE(heads, 1, MAX_HEADS);
    RANGE(layers, 0, AT_MAX_LAYERS);
    RANGE(ffn_dim, 1, MAX_FFN);
    RANGE(max_len, 4, MAX_LEN);
    RANGE(rel_pos, 0, MAX_LEN);
    RANGE(char_buckets, 0, MAX_BUCKETS);
    RANGE(lexicon_bits, 0, 8);
    RANGE(n_tagsets, 1, AT_MAX_TAGSETS);
    if (c->dim % c->heads)
        return at_error_set(err, "config: dim %d is not a multiple of heads %d", c->dim, c->heads);
    if (c->abs_pos && c->dim % 2)
        return at_error_set(err, "config: abs_pos needs an even dim, got %d", c->dim);
    if (c->char_buckets) {
        RANGE(char_dim, 1, MAX_DIM);
        RANGE(ngram_min, 1, MAX_NGRAM);
        RANGE(ngram_max, c->ngram_min, MAX_NGRAM);
    }
    for (int l = 0; l < c->layers; l++) {
        if (c->window[l] < 0 || c->window[l] > MAX_LEN)
            return at_error_set(err, "config: window[%d] is %d, expected 0 to %d", l,
                                c->window[l], MAX_LEN);
        if (c->mixer[l] < AT_MIX_ATTENTION || c->mixer[l] > AT_MIX_NONE)
            return at_error_set(err, "config: mixer[%d] is %d, not a mixer", l, (int)c->mixer[l]);
        /* a window FC holds a d x (2 window + 1) d matrix: bounded like dim */
        if (c->mixer[l] == AT_MIX_WINDOW && (c->window[l] < 1 || c->window[l] > MAX_WINDOW_FC))
            return at_error_set(err, "config: window[%d] is %d, a window mixer needs 1 to %d",
                                l, c->window[l], MAX_WINDOW_FC);
    }
    if (!(c->ln_eps > 0 && c->ln_eps < 1))
        return at_error_set(err, "config: ln_eps must be in (0, 1)");
    for (int i = 0; i < c->n_tagsets; i++) {
        size_t len = strnlen(c->tagset[i], AT_MAX_NAME);
        if (len == 0 || len >= AT_MAX_NAME)
            return at_error_set(err, "config: tag set name %d is empty or too long", i);
        for (size_t k = 0; k < len; k++) {
            char ch = c->tagset[i][k];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
                return at_error_set(err, "config: tag set name \"%s\" may only use letters, "
                                    "digits, '_' and '-'", c->tagset[i]);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(c->tagset[i], c->tagset[j]) == 0)
                return at_error_set(err, "config: tag set \"%s\" named twice", c->tagset[i]);
        double t = c->temperature[i];
        if (t != 0 && !(t >= 0.01 && t <= 100))
            return at_error_set(err, "config: temperature[%d] is %g, expected 0.01 to 100", i, t);
    }
    return 0;
}

/* The mixers by name, in at_mixer's order: the config's "mixer" values. */
static const char *const MIXERS[] = {"attention", "window", "none"};

const char *at_mixer_name(at_mixer k)
{
    return k >= AT_MIX_ATTENTION && k <= AT_MIX_NONE ? MIXERS[k] : "?";
}

const char *at_config_figure(const at_config *c)
{
    int n[3] = {0, 0, 0};
    for (int l = 0; l < c->layers; l++)
        n[c->mixer[l]]++;
    if (n[AT_MIX_ATTENTION] == c->layers)
        return c->layers == 1 ? "attn" : c->layers > 1 ? "stacked" : "fc";
    if (n[AT_MIX_WINDOW] == c->layers)
        return "window";
    if (n[AT_MIX_NONE] == c->layers)
        return "fc";
    return "mixed";
}

int at_config_set_figure(at_config *c, const char *figure, at_error *err)
{
    static const struct { const char *name; at_mixer mixer; int window; } figs[] = {
        {"fc", AT_MIX_NONE, 0},
        {"window", AT_MIX_WINDOW, 1},
        {"attn", AT_MIX_ATTENTION, 0},
        {"stacked", AT_MIX_ATTENTION, -1}, /* the windows stay as they are */
    };
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++) {
        if (strcmp(figure, figs[i].name) != 0)
            continue;
        for (int l = 0; l < AT_MAX_LAYERS; l++) {
            c->mixer[l] = figs[i].mixer;
            if (figs[i].window >= 0)
                c->window[l] = figs[i].window;
        }
        if (figs[i].mixer == AT_MIX_ATTENTION)
            c->layers = figs[i].window < 0 ? (c->layers > 1 ? c->layers : 2) : 1;
        return 0;
    }
    return at_error_set(err, "no figure \"%.40s\" (expected fc, window, attn or stacked)",
                        figure);
}

static int get_int(const cJSON *o, const char *key, int *out, at_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return at_error_set(err, "config: missing \"%s\"", key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 1e9)
        return at_error_set(err, "config: \"%s\" must be a whole number", key);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *o, const char *key, int *out, at_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return at_error_set(err, "config: missing \"%s\"", key);
    if (!cJSON_IsBool(v))
        return at_error_set(err, "config: \"%s\" must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_enum(const cJSON *o, const char *key, const char *a, const char *b, int *out,
                    at_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return at_error_set(err, "config: missing \"%s\"", key);
    if (cJSON_IsString(v) && strcmp(v->valuestring, a) == 0)
        *out = 0;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, b) == 0)
        *out = 1;
    else
        return at_error_set(err, "config: \"%s\" must be \"%s\" or \"%s\"", key, a, b);
    return 0;
}

int at_config_from_json(at_config *c, const char *json, size_t len, at_error *err)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o)
        return at_error_set(err, "config: not valid JSON");
    int rc = at_config_from_cjson(c, o, err);
    cJSON_Delete(o);
    return rc;
}

/* known_keys: every key of o one this attntag knows, none given twice: a
 * key it does not know may ask for what it cannot compute, and which of
 * two values would be meant? */
static int known_keys(const cJSON *o, at_error *err)
{
    static const char *const known[] = {"dim", "heads", "layers", "ffn_dim", "max_len", "norm",
                                        "activation", "window", "rel_pos", "abs_pos",
                                        "lowercase", "char_buckets", "char_dim", "ngram_min",
                                        "ngram_max", "shape", "lexicon_bits", "ln_eps", "int8",
                                        "tagsets", "temperature", "mixer"};
    const cJSON *key;
    cJSON_ArrayForEach(key, o)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcmp(key->string, known[i]) != 0)
            i++;
        if (i == sizeof known / sizeof *known)
            return at_error_set(err, "config: unknown key \"%.100s\" (made by a newer attntag?)",
                                key->string);
        for (const cJSON *k2 = key->next; k2; k2 = k2->next)
            if (strcmp(key->string, k2->string) == 0)
                return at_error_set(err, "config: \"%s\" given twice", key->string);
    }
    return 0;
}

/* get_layers: "window" and "mixer", one per layer (c->layers already read). */
static int get_layers(const cJSON *o, at_config *c, at_error *err)
{
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(o, "window");
    if (!cJSON_IsArray(win) || cJSON_GetArraySize(win) != c->layers)
        return at_error_set(err, "config: \"window\" must be an array of %d numbers (one per "
                            "layer)", c->layers);
    int l = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, win)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
            it->valuedouble < 0 || it->valuedouble > 1e6)
            return at_error_set(err, "config: window[%d] must be a whole number >= 0", l);
        c->window[l++] = (int)it->valuedouble;
    }
    const cJSON *mix = cJSON_GetObjectItemCaseSensitive(o, "mixer");
    if (!mix) /* optional: absent, every block attends (models made before it) */
        return 0;
    if (!cJSON_IsArray(mix) || cJSON_GetArraySize(mix) != c->layers)
        return at_error_set(err, "config: \"mixer\" must be an array of %d names (one per "
                            "layer)", c->layers);
    l = 0;
    cJSON_ArrayForEach(it, mix)
    {
        int k = 0;
        while (k < 3 && !(cJSON_IsString(it) && strcmp(it->valuestring, MIXERS[k]) == 0))
            k++;
        if (k == 3)
            return at_error_set(err, "config: mixer[%d] must be \"attention\", \"window\" or "
                                "\"none\"", l);
        c->mixer[l++] = (at_mixer)k;
    }
    return 0;
}

/* get_tagsets: "tagsets", and "temperature", one per tag set. */
static int get_tagsets(const cJSON *o, at_config *c, at_error *err)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "tagsets"), *it;
    if (!cJSON_IsArray(ts) || cJSON_GetArraySize(ts) < 1 ||
        cJSON_GetArraySize(ts) > AT_MAX_TAGSETS)
        return at_error_set(err, "config: \"tagsets\" must be an array of 1 to %d names",
                            AT_MAX_TAGSETS);
    cJSON_ArrayForEach(it, ts)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= AT_MAX_NAME)
            return at_error_set(err, "config: tag set names must be strings under %d bytes",
                                AT_MAX_NAME);
        strcpy(c->tagset[c->n_tagsets++], it->valuestring);
    }
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(o, "temperature");
    if (!temp) /* optional: absent in models never calibrated */
        return 0;
    if (!cJSON_IsArray(temp) || cJSON_GetArraySize(temp) != c->n_tagsets)
        return at_error_set(err, "config: \"temperature\" must be an array of %d numbers (one "
                            "per tag set)", c->n_tagsets);
    int t = 0;
    cJSON_ArrayForEach(it, temp)
    {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0.01 && it->valuedouble <= 100))
            return at_error_set(err, "config: temperature[%d] must be a number from 0.01 to "
                                "100", t);
        c->temperature[t++] = it->valuedouble;
    }
    return 0;
}

int at_config_from_cjson(at_config *c, const cJSON *o, at_error *err)
{
    memset(c, 0, sizeof *c);
    int norm = 0, act = 0;
    if (!cJSON_IsObject(o))
        return at_error_set(err, "config: expected a JSON object");
    if (known_keys(o, err) ||
        get_int(o, "dim", &c->dim, err) || get_int(o, "heads", &c->heads, err) ||
        get_int(o, "layers", &c->layers, err) || get_int(o, "ffn_dim", &c->ffn_dim, err) ||
        get_int(o, "max_len", &c->max_len, err) ||
        get_enum(o, "norm", "pre", "post", &norm, err) ||
        get_enum(o, "activation", "relu", "gelu", &act, err) ||
        get_int(o, "rel_pos", &c->rel_pos, err) || get_bool(o, "abs_pos", &c->abs_pos, err) ||
        get_bool(o, "lowercase", &c->lowercase, err) ||
        get_int(o, "char_buckets", &c->char_buckets, err) ||
        get_int(o, "char_dim", &c->char_dim, err) ||
        get_int(o, "ngram_min", &c->ngram_min, err) ||
        get_int(o, "ngram_max", &c->ngram_max, err) || get_bool(o, "shape", &c->shape, err) ||
        get_int(o, "lexicon_bits", &c->lexicon_bits, err))
        return -1;
    c->norm = norm;
    c->activation = act;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(o, "ln_eps");
    if (!cJSON_IsNumber(eps))
        return at_error_set(err, "config: \"ln_eps\" must be a number");
    c->ln_eps = eps->valuedouble;
    if (cJSON_GetObjectItemCaseSensitive(o, "int8") && get_bool(o, "int8", &c->int8, err))
        return -1; /* optional: absent in models made before it */
    if (c->layers < 0 || c->layers > AT_MAX_LAYERS)
        return at_error_set(err, "config: layers is %d, expected 0 to %d", c->layers,
                            AT_MAX_LAYERS);
    if (get_layers(o, c, err) || get_tagsets(o, c, err))
        return -1;
    return at_config_check(c, err);
}

char *at_config_to_json(const at_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "dim", c->dim);
    cJSON_AddNumberToObject(o, "heads", c->heads);
    cJSON_AddNumberToObject(o, "layers", c->layers);
    cJSON_AddNumberToObject(o, "ffn_dim", c->ffn_dim);
    cJSON_AddNumberToObject(o, "max_len", c->max_len);
    cJSON_AddStringToObject(o, "norm", c->norm == AT_NORM_PRE ? "pre" : "post");
    cJSON_AddStringToObject(o, "activation", c->activation == AT_ACT_RELU ? "relu" : "gelu");
    cJSON *win = cJSON_AddArrayToObject(o, "window");
    for (int l = 0; win && l < c->layers; l++)
        cJSON_AddItemToArray(win, cJSON_CreateNumber(c->window[l]));
    int mixed = 0; /* written only when some block does not attend: older files stay */
    for (int l = 0; l < c->layers; l++)
        mixed |= c->mixer[l] != AT_MIX_ATTENTION;
    cJSON *mix = mixed ? cJSON_AddArrayToObject(o, "mixer") : NULL;
    for (int l = 0; mix && l < c->layers; l++)
        cJSON_AddItemToArray(mix, cJSON_CreateString(at_mixer_name(c->mixer[l])));
    cJSON_AddNumberToObject(o, "rel_pos", c->rel_pos);
    cJSON_AddBoolToObject(o, "abs_pos", c->abs_pos);
    cJSON_AddBoolToObject(o, "lowercase", c->lowercase);
    cJSON_AddNumberToObject(o, "char_buckets", c->char_buckets);
    cJSON_AddNumberToObject(o, "char_dim", c->char_dim);
    cJSON_AddNumberToObject(o, "ngram_min", c->ngram_min);
    cJSON_AddNumberToObject(o, "ngram_max", c->ngram_max);
    cJSON_AddBoolToObject(o, "shape", c->shape);
    cJSON_AddNumberToObject(o, "lexicon_bits", c->lexicon_bits);
    cJSON_AddNumberToObject(o, "ln_eps", c->ln_eps);
    if (c->int8)
        cJSON_AddBoolToObject(o, "int8", 1);
    cJSON *ts = cJSON_AddArrayToObject(o, "tagsets");
    for (int i = 0; ts && i < c->n_tagsets; i++)
        cJSON_AddItemToArray(ts, cJSON_CreateString(c->tagset[i]));
    int calibrated = 0;
    for (int i = 0; i < c->n_tagsets; i++)
        calibrated |= c->temperature[i] != 0;
    cJSON *temp = calibrated ? cJSON_AddArrayToObject(o, "temperature") : NULL;
    for (int i = 0; temp && i < c->n_tagsets; i++)
        cJSON_AddItemToArray(temp, cJSON_CreateNumber(c->temperature[i] ? c->temperature[i]
                                                                         : 1.0));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
