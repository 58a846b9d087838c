/*
 * explain.c - the lecture's heat maps, drawn from a real model: for each
 * sentence, every layer's attention weights (per head: a row is a word, its
 * cells how much that word draws from each word), read from what the one
 * forward pass keeps (at_state_attention), with the tags and their
 * probabilities. Blocks without attention show the receptive field their
 * architecture fixes instead: the window of a window FC, or each word alone.
 * Written as a self-contained HTML page (inline SVG, no scripts, nothing
 * fetched), as one SVG picture, or as JSON Lines for scripts.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct at_explainer {
    const at_model *m;
    FILE *fp;
    at_explain_format fmt;
    at_state *st;
    at_feats f;
    uint32_t *tags[AT_MAX_TAGSETS];
    float *probs[AT_MAX_TAGSETS];
    size_t cap;
    size_t drawn;
    int layer; /* the one layer drawn (from 0), or -1 for all */
    char *title;
};

/* xml: s[0..len) with the characters markup gives a meaning escaped, and
 * the control characters XML may not hold at all shown as U+FFFD. */
static void xml(FILE *fp, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default:
            if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                fputs("\xEF\xBF\xBD", fp);
            else
                fputc(ch, fp);
        }
    }
}

/* json_str: s[0..len) as a JSON string. */
static void json_str(FILE *fp, const char *s, size_t len)
{
    fputc('"', fp);
    for (size_t k = 0; k < len; k++) {
        unsigned char ch = (unsigned char)s[k];
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(fp, "\\u%04x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

/* json_num: a weight or probability; null if it is not finite (a model with
 * huge weights can make softmax give NaN), which JSON has no number for. */
static void json_num(FILE *fp, const char *sep, float v)
{
    if (isfinite(v))
        fprintf(fp, "%s%.6g", sep, v);
    else
        fprintf(fp, "%snull", sep);
}

/* A label shows at most this many code points of a token. */
enum { LABEL_CHARS = 14 };

/* label_len: the bytes of the first LABEL_CHARS code points of s. */
static size_t label_len(const char *s, size_t len, int *cut)
{
    size_t i = 0;
    int chars = 0;
    while (i < len && chars < LABEL_CHARS) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    *cut = i < len;
    return i;
}

/* colour: white for weight 0 to dark blue for 1, by the square root of the
 * weight, so that the small weights most rows hold stay visible. */
static void colour(float w, char out[8])
{
    float t = sqrtf(w > 0 ? (w < 1 ? w : 1) : 0); /* NaN as 0 */
    int r = (int)lrintf(255 - t * (255 - 8)), g = (int)lrintf(255 - t * (255 - 48)),
        b = (int)lrintf(255 - t * (255 - 107));
    snprintf(out, 8, "#%02x%02x%02x", r, g, b);
}

int at_explain_new(const at_model *m, FILE *fp, at_explain_format fmt, const char *title,
                   at_explainer **out, at_error *err)
{
    at_explainer *x = calloc(1, sizeof *x);
    if (!x)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    x->m = m;
    x->fp = fp;
    x->fmt = fmt;
    x->layer = -1;
    at_feats_init(&x->f);
    if (at_state_new(m, &x->st, err)) {
        free(x);
        return -1;
    }
    if (!(x->title = strdup(title))) {
        at_explain_free(x);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    *out = x;
    return 0;
}

/* The page's head, written with the first sentence, so that a bad option
 * found after at_explain_new leaves no half page behind. */
static void html_head(FILE *fp, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>attntag explain: ", fp);
    xml(fp, title, strlen(title));
    fputs("</title>\n<style>\n"
          "body { font-family: sans-serif; margin: 1.5em; color: #222; }\n"
          "table.tags { border-collapse: collapse; margin: 0.5em 0 1em; }\n"
          "table.tags td, table.tags th { padding: 2px 8px; border-bottom: 1px solid #ddd;"
          " text-align: left; }\n"
          "p.legend { max-width: 48em; }\n"
          "</style>\n</head>\n<body>\n<h1>Attention in ", fp);
    xml(fp, title, strlen(title));
    fputs("</h1>\n<p class=\"legend\">Each map is one head of one layer of the model, "
          "with the sentence's words on both axes. A row is a word: its cells show how "
          "much that word draws from each word of the sentence when the layer mixes "
          "them (the weights of a row add up to 1; darker is more). Layers that do not "
          "attend show the receptive field their architecture fixes instead: a window "
          "of neighbours, or each word alone. Hover over a cell for its weight.</p>\n",
          fp);
}

int at_explain_layer(at_explainer *x, int layer, at_error *err)
{
    const at_config *c = at_model_config(x->m);
    if (layer < 1 || layer > c->layers)
        return at_error_set(err, "the model has layers 1 to %d, not %d", c->layers, layer);
    x->layer = layer - 1;
    return 0;
}

/* drawn: whether layer l is shown */
static int shown(const at_explainer *x, int l)
{
    return x->layer < 0 || x->layer == l;
}

static int grow(at_explainer *x, size_t n, at_error *err)
{
    if (n <= x->cap)
        return 0;
    const at_config *c = at_model_config(x->m);
    for (int t = 0; t < c->n_tagsets; t++) {
        uint32_t *nt = realloc(x->tags[t], n * sizeof *nt);
        if (nt)
            x->tags[t] = nt;
        float *np = realloc(x->probs[t], n * at_model_n_tags(x->m, t) * sizeof *np);
        if (np)
            x->probs[t] = np;
        if (!nt || !np)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory for a sentence of %zu tokens", n);
    }
    x->cap = n;
    return 0;
}

/* weight: the map value of layer l, head t, row i, column j. */
static float weight(const at_config *c, const float *att, int l, size_t t, size_t n, size_t i,
                    size_t j)
{
    if (c->mixer[l] == AT_MIX_ATTENTION)
        return att[(t * n + i) * n + j];
    if (c->mixer[l] == AT_MIX_NONE)
        return i == j ? 1.0f : 0.0f;
    return (i > j ? i - j : j - i) <= (size_t)c->window[l] ? 1.0f : 0.0f;
}

static void write_json(at_explainer *x, const at_sentence *s)
{
    const at_config *c = at_model_config(x->m);
    FILE *fp = x->fp;
    size_t n = s->n;
    fprintf(fp, "{\"sentence\":%zu,\"tokens\":[", s->number);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", fp);
        json_str(fp, s->tok[i], s->tok_len[i]);
    }
    fputs("],\"tags\":{", fp);
    for (int t = 0; t < c->n_tagsets; t++) {
        fprintf(fp, "%s\"%s\":[", t ? "," : "", c->tagset[t]);
        for (size_t i = 0; i < n; i++) { /* tags come from the model file: any text */
            const char *tag = at_model_tag(x->m, t, x->tags[t][i]);
            fputs(i ? "," : "", fp);
            json_str(fp, tag, strlen(tag));
        }
        fputc(']', fp);
    }
    fputs("},\"probs\":{", fp);
    for (int t = 0; t < c->n_tagsets; t++) {
        size_t T = at_model_n_tags(x->m, t);
        fprintf(fp, "%s\"%s\":[", t ? "," : "", c->tagset[t]);
        for (size_t i = 0; i < n; i++)
            json_num(fp, i ? "," : "", x->probs[t][i * T + x->tags[t][i]]);
        fputc(']', fp);
    }
    fputs("},\"layers\":[", fp);
    for (int l = 0, first = 1; l < c->layers; l++) {
        if (!shown(x, l))
            continue;
        fprintf(fp, "%s{\"layer\":%d,\"mixer\":\"%s\",\"window\":%d", first ? "" : ",", l + 1,
                at_mixer_name(c->mixer[l]), c->window[l]);
        if (c->mixer[l] == AT_MIX_ATTENTION) {
            const float *att = at_state_attention(x->st, l);
            fputs(",\"weights\":[", fp);
            for (size_t t = 0; t < (size_t)c->heads; t++) {
                fputs(t ? ",[" : "[", fp);
                for (size_t i = 0; i < n; i++) {
                    fputs(i ? ",[" : "[", fp);
                    for (size_t j = 0; j < n; j++)
                        json_num(fp, j ? "," : "", att[(t * n + i) * n + j]);
                    fputc(']', fp);
                }
                fputc(']', fp);
            }
            fputc(']', fp);
        }
        fputc('}', fp);
        first = 0;
    }
    fputs("]}\n", fp);
}

/* Geometry of one map, in pixels. */
typedef struct geo {
    int cell, label, title, gap;
    int w, h; /* a whole panel: title, labels, cells */
} geo;

static geo geometry(const at_sentence *s)
{
    geo g;
    size_t n = s->n;
    int widest = 1; /* code points of the longest label */
    for (size_t i = 0; i < n; i++) {
        int chars = 0, cut;
        size_t len = label_len(s->tok[i], s->tok_len[i], &cut);
        for (size_t k = 0; k < len; k++)
            chars += ((unsigned char)s->tok[i][k] & 0xC0) != 0x80;
        /* a CJK character is about twice as wide as a Latin letter */
        for (size_t k = 0; k < len; k++)
            chars += ((unsigned char)s->tok[i][k] & 0xF0) == 0xE0;
        if (chars + cut > widest)
            widest = chars + cut;
    }
    g.cell = n <= 10 ? 24 : n <= 20 ? 18 : n <= 40 ? 12 : 8;
    g.label = 7 * widest + 12;
    g.title = 22;
    g.gap = 28;
    g.w = g.label + (int)n * g.cell + g.gap;
    if (g.w < 280) /* room for the title */
        g.w = 280;
    g.h = g.title + g.label + (int)n * g.cell + g.gap;
    return g;
}

/* token label, with "..." where it was cut */
static void label(FILE *fp, const at_sentence *s, size_t i)
{
    int cut;
    xml(fp, s->tok[i], label_len(s->tok[i], s->tok_len[i], &cut));
    if (cut)
        fputs("\xE2\x80\xA6", fp);
}

static void panel(at_explainer *x, const at_sentence *s, int l, size_t t, int px, int py,
                  const geo *g)
{
    const at_config *c = at_model_config(x->m);
    FILE *fp = x->fp;
    size_t n = s->n;
    const float *att = c->mixer[l] == AT_MIX_ATTENTION ? at_state_attention(x->st, l) : NULL;
    fprintf(fp, "<g class=\"heatmap\" transform=\"translate(%d,%d)\">\n", px, py);
    fprintf(fp, "<text x=\"0\" y=\"15\" font-size=\"13\" font-weight=\"bold\">layer %d, ",
            l + 1);
    if (c->mixer[l] == AT_MIX_ATTENTION)
        fprintf(fp, "head %zu%s", t + 1, c->window[l] ? "" : " (whole sentence)");
    if (c->mixer[l] == AT_MIX_ATTENTION && c->window[l])
        fprintf(fp, " (window \xC2\xB1%d)", c->window[l]);
    if (c->mixer[l] == AT_MIX_WINDOW)
        fprintf(fp, "window FC \xC2\xB1%d: fixed field", c->window[l]);
    if (c->mixer[l] == AT_MIX_NONE)
        fputs("no mixing: each word alone", fp);
    fputs("</text>\n", fp);
    int ox = g->label, oy = g->title + g->label;
    for (size_t j = 0; j < n; j++) { /* column labels, read upwards */
        fprintf(fp, "<text transform=\"translate(%d,%d) rotate(-90)\" font-size=\"11\" "
                "dominant-baseline=\"middle\">", ox + (int)j * g->cell + g->cell / 2, oy - 4);
        label(fp, s, j);
        fputs("</text>\n", fp);
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">", ox - 4, oy + (int)i * g->cell + g->cell / 2);
        label(fp, s, i);
        fputs("</text>\n", fp);
        for (size_t j = 0; j < n; j++) {
            float w = weight(c, att, l, t, n, i, j);
            char col[8];
            colour(w, col);
            fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                    "<title>", ox + (int)j * g->cell, oy + (int)i * g->cell, g->cell, g->cell,
                    col);
            xml(fp, s->tok[i], s->tok_len[i]);
            fputs(" \xE2\x86\x90 ", fp);
            xml(fp, s->tok[j], s->tok_len[j]);
            fprintf(fp, ": %.3f</title></rect>\n", w);
        }
    }
    fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#888\"/>\n</g>\n", ox, oy, (int)n * g->cell, (int)n * g->cell);
}

/* svg: the maps of one sentence, a row per layer, a column per head, under
 * a colour scale. */
static void write_svg(at_explainer *x, const at_sentence *s)
{
    const at_config *c = at_model_config(x->m);
    FILE *fp = x->fp;
    geo g = geometry(s);
    int cols = 1, rows = 0;
    for (int l = 0; l < c->layers; l++) {
        rows += shown(x, l);
        if (shown(x, l) && c->mixer[l] == AT_MIX_ATTENTION && c->heads > cols)
            cols = c->heads;
    }
    int scale_h = 56, width = cols * g.w + 20, height = scale_h + rows * g.h + 10;
    if (width < 420)
        width = 420;
    fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height, width,
            height);
    /* the colour scale: the same mapping as the cells, sampled */
    fputs("<g class=\"scale\" transform=\"translate(24,8)\">\n<text x=\"0\" y=\"12\" "
          "font-size=\"12\">weight (how much the row's word draws from the column's)</text>\n",
          fp);
    for (int k = 0; k < 100; k++) {
        char col[8];
        colour((float)k / 99.0f, col);
        fprintf(fp, "<rect x=\"%d\" y=\"18\" width=\"3\" height=\"14\" fill=\"%s\"/>\n", k * 3,
                col);
    }
    for (int k = 0; k <= 4; k++)
        fprintf(fp, "<text x=\"%d\" y=\"44\" font-size=\"11\" text-anchor=\"middle\">%.2f"
                "</text>\n", k * 75, k / 4.0);
    fputs("</g>\n", fp);
    for (int l = 0, row = 0; l < c->layers; l++) {
        if (!shown(x, l))
            continue;
        size_t maps = c->mixer[l] == AT_MIX_ATTENTION ? (size_t)c->heads : 1;
        for (size_t t = 0; t < maps; t++)
            panel(x, s, l, t, 10 + (int)t * g.w, scale_h + row * g.h, &g);
        row++;
    }
    fputs("</svg>\n", fp);
}

static void write_html(at_explainer *x, const at_sentence *s)
{
    const at_config *c = at_model_config(x->m);
    FILE *fp = x->fp;
    fprintf(fp, "<h2>Sentence %zu</h2>\n<table class=\"tags\">\n<tr><th>word</th>",
            s->number);
    for (int t = 0; t < c->n_tagsets; t++)
        fprintf(fp, "<th>%s</th><th>probability</th>", c->tagset[t]);
    fputs("</tr>\n", fp);
    for (size_t i = 0; i < s->n; i++) {
        fputs("<tr><td>", fp);
        xml(fp, s->tok[i], s->tok_len[i]);
        fputs("</td>", fp);
        for (int t = 0; t < c->n_tagsets; t++) {
            size_t T = at_model_n_tags(x->m, t);
            const char *tag = at_model_tag(x->m, t, x->tags[t][i]);
            fputs("<td>", fp);
            xml(fp, tag, strlen(tag));
            fprintf(fp, "</td><td>%.3f</td>", x->probs[t][i * T + x->tags[t][i]]);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    write_svg(x, s);
}

int at_explain_add(at_explainer *x, const at_sentence *s, at_error *err)
{
    const at_config *c = at_model_config(x->m);
    if (s->n == 0)
        return 0;
    if (s->n > (size_t)c->max_len)
        return at_error_set(err, "sentence %zu has %zu tokens: explain shows sentences of at "
                            "most %d (the model's max_len), which it runs whole", s->number,
                            s->n, c->max_len);
    if (x->fmt == AT_EXPLAIN_SVG && x->drawn)
        return at_error_set(err, "an SVG picture shows one sentence: name it with --sentence "
                            "N, or use the HTML page");
    if (grow(x, s->n, err))
        return -1;
    at_feats_clear(&x->f);
    for (size_t i = 0; i < s->n; i++)
        if (at_feats_add(x->m, &x->f, s->tok[i], s->tok_len[i], err))
            return -1;
    /* the tags as tagging gives them, then the forward pass whose weights
     * the maps show (the same pass: a sentence of at most max_len is one chunk) */
    if (at_tag(x->m, x->st, &x->f, x->tags, x->probs, err) ||
        at_forward(x->m, x->st, &x->f, 0, s->n, err))
        return -1;
    if (x->fmt == AT_EXPLAIN_HTML && !x->drawn)
        html_head(x->fp, x->title);
    if (x->fmt == AT_EXPLAIN_JSON)
        write_json(x, s);
    else if (x->fmt == AT_EXPLAIN_SVG)
        write_svg(x, s);
    else
        write_html(x, s);
    x->drawn++;
    return 0;
}

int at_explain_finish(at_explainer *x, at_error *err)
{
    int rc = 0;
    if (x->fmt == AT_EXPLAIN_HTML && !x->drawn)
        html_head(x->fp, x->title);
    if (x->fmt == AT_EXPLAIN_HTML)
        fputs("</body>\n</html>\n", x->fp);
    if (x->fmt == AT_EXPLAIN_SVG && !x->drawn)
        rc = at_error_set(err, "no sentence to draw");
    at_explain_free(x);
    return rc;
}

void at_explain_free(at_explainer *x)
{
    if (!x)
        return;
    for (int t = 0; t < AT_MAX_TAGSETS; t++) {
        free(x->tags[t]);
        free(x->probs[t]);
    }
    at_feats_free(&x->f);
    at_state_free(x->st);
    free(x->title);
    free(x);
}
