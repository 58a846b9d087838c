/*
 * model_io.c - loading and saving a model in either file format.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* sniff: JSON models start with '{' (after blanks); safetensors with a length. */
static at_file_format sniff(const char *path, at_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return AT_FILE_AUTO;
    }
    int ch;
    while ((ch = fgetc(fp)) == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
        ;
    fclose(fp);
    return ch == '{' ? AT_FILE_JSON : AT_FILE_SAFETENSORS;
}

int at_model_load(const char *path, at_file_format fmt, at_model **out, at_error *err)
{
    if (fmt == AT_FILE_AUTO && (fmt = sniff(path, err)) == AT_FILE_AUTO) {
        if (err)
            err->kind = AT_ERR_MODEL;
        return -1;
    }
    if ((fmt == AT_FILE_JSON ? at_json_model_load(path, out, err)
                             : at_safetensors_load(path, out, err)) != 0) {
        if (err && err->kind != AT_ERR_MEMORY) /* whatever went wrong, the model file did */
            err->kind = AT_ERR_MODEL;
        return -1;
    }
    if (!((*out)->path = strdup(path))) {
        at_model_free(*out);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    return 0;
}

int at_model_save(const at_model *m, const char *path, at_file_format fmt, at_error *err)
{
    if (fmt == AT_FILE_AUTO) {
        size_t n = strlen(path);
        fmt = n >= 5 && strcmp(path + n - 5, ".json") == 0 ? AT_FILE_JSON : AT_FILE_SAFETENSORS;
    }
    return fmt == AT_FILE_JSON ? at_json_model_save(m, path, err)
                               : at_safetensors_save(m, path, err);
}
