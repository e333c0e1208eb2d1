/* Human rendering of results: tables, key/value lines, bare values. */
#include "render.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const struct mg_col *find_col(const struct mg_cmd *cmd, const char *key)
{
	for (const struct mg_col *c = cmd->cols; c && c->key; c++)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

/* One value as text: "-" for none, units after numbers, control bytes made visible so that a
 * value cannot break the table or the terminal. */
static char *cell(const json_t *v, const struct mg_col *col)
{
	const char *unit = col && col->unit ? col->unit : "";
	char *s = NULL;

	if (!v || json_is_null(v)) {
		s = strdup("-");
	} else if (json_is_string(v)) {
		s = strdup(json_string_value(v));
		for (char *p = s; p && *p; p++)
			if (iscntrl((unsigned char)*p))
				*p = '?';
	} else if (json_is_integer(v) && col && (col->flags & MG_COL_HEX)) {
		if (asprintf(&s, "0x%08llx", (unsigned long long)json_integer_value(v)) < 0)
			s = NULL;
	} else if (json_is_integer(v)) {
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT "%s", json_integer_value(v), unit) < 0)
			s = NULL;
	} else if (json_is_real(v)) {
		if (asprintf(&s, "%.2f%s", json_real_value(v), unit) < 0)
			s = NULL;
	} else if (json_is_boolean(v)) {
		s = strdup(json_is_true(v) ? "yes" : "no");
	} else {
		s = json_dumps(v, JSON_COMPACT);
	}
	return s;
}

static bool is_number(const json_t *v)
{
	return !v || json_is_null(v) || json_is_number(v);
}

/* The command's columns, or when it has none, the keys of the first row. */
static size_t table_cols(const struct mg_cmd *cmd, const json_t *rows, const struct mg_col **cols,
                         struct mg_col **own)
{
	size_t n = 0;
	*own = NULL;
	for (const struct mg_col *c = cmd->cols; c && c->key && c->header; c++)
		n++;
	if (n) {
		*cols = cmd->cols;
		return n;
	}
	json_t *first = json_array_get(rows, 0);
	if (!json_is_object(first) || !json_object_size(first))
		return 0;
	*own = calloc(json_object_size(first), sizeof(**own));
	if (!*own)
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach(first, key, v)
	{
		(*own)[n].key = key;
		(*own)[n].header = key;
		n++;
	}
	*cols = *own;
	return n;
}

static int render_table(FILE *f, const struct mg_cmd *cmd, const json_t *rows)
{
	const struct mg_col *cols;
	struct mg_col *own;
	size_t ncols = table_cols(cmd, rows, &cols, &own);
	size_t nrows = json_array_size(rows);

	if (!ncols) { /* rows that are not objects: one per line */
		free(own);
		for (size_t r = 0; r < nrows; r++) {
			char *s = cell(json_array_get(rows, r), NULL);
			fprintf(f, "%s\n", s ? s : "?");
			free(s);
		}
		return 0;
	}
	char **cells = calloc(nrows * ncols, sizeof(*cells));
	int *width = calloc(ncols, sizeof(*width));
	bool *right = calloc(ncols, sizeof(*right));
	int rc = -ENOMEM;
	if (!cells || !width || !right)
		goto out;
	for (size_t c = 0; c < ncols; c++) {
		width[c] = (int)strlen(cols[c].header);
		right[c] = true;
	}
	for (size_t r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			const json_t *v =
			    json_is_object(row) ? json_object_get(row, cols[c].key) : NULL;
			char *s = cell(v, &cols[c]);
			if (!s)
				goto out;
			cells[r * ncols + c] = s;
			if ((int)strlen(s) > width[c])
				width[c] = (int)strlen(s);
			right[c] = right[c] && is_number(v) && !(cols[c].flags & MG_COL_HEX);
		}
	}
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = r ? cells[(r - 1) * ncols + c] : cols[c].header;
			bool last = c + 1 == ncols;
			if (right[c])
				fprintf(f, "%*s%s", width[c], s, last ? "" : "  ");
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%-*s  ", width[c], s);
		}
		fputc('\n', f);
	}
	rc = 0;
out:
	if (cells)
		for (size_t i = 0; i < nrows * ncols; i++)
			free(cells[i]);
	free(cells);
	free(width);
	free(right);
	free(own);
	return rc;
}

static void render_object(FILE *f, const struct mg_cmd *cmd, const json_t *obj, int indent,
                          bool dash);

static bool has_objects(const json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_object(v) || json_is_array(v)) return true;
	return false;
}

static void render_member(FILE *f, const struct mg_cmd *cmd, const char *key, const json_t *v,
                          int indent, int width)
{
	if (json_is_object(v) && json_object_size(v)) {
		fprintf(f, "%s:\n", key);
		render_object(f, cmd, v, indent + 2, false);
	} else if (json_is_array(v) && has_objects(v)) {
		size_t i;
		json_t *e;
		fprintf(f, "%s:\n", key);
		json_array_foreach(v, i, e)
		{
			if (json_is_object(e) && json_object_size(e)) {
				render_object(f, cmd, e, indent + 4, true);
			} else {
				char *s = cell(e, NULL);
				fprintf(f, "%*s- %s\n", indent + 2, "", s ? s : "?");
				free(s);
			}
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		fprintf(f, "%s:%*s", key, width - (int)strlen(key) + 1, "");
		json_array_foreach(v, i, e)
		{
			char *s = cell(e, find_col(cmd, key));
			fprintf(f, "%s%s", i ? ", " : "", s ? s : "?");
			free(s);
		}
		fputs(json_array_size(v) ? "\n" : "-\n", f);
	} else {
		char *s = cell(v, find_col(cmd, key));
		fprintf(f, "%s:%*s%s\n", key, width - (int)strlen(key) + 1, "", s ? s : "?");
		free(s);
	}
}

/* Members as "key: value" lines, values aligned; nested objects indented under their key; array
 * elements that are objects start with "- " in YAML fashion. */
static void render_object(FILE *f, const struct mg_cmd *cmd, const json_t *obj, int indent,
                          bool dash)
{
	const char *key;
	json_t *v;
	int width = 0;
	bool first = true;

	json_object_foreach((json_t *)obj, key, v) if ((int)strlen(key) > width) width =
	    (int)strlen(key);
	json_object_foreach((json_t *)obj, key, v)
	{
		if (first && dash)
			fprintf(f, "%*s- ", indent - 2, "");
		else
			fprintf(f, "%*s", indent, "");
		first = false;
		render_member(f, cmd, key, v, indent, width);
	}
}

static int render_bare(FILE *f, const struct mg_cmd *cmd, const json_t *result)
{
	const json_t *v = json_object_get(result, cmd->print_key);
	if (!v)
		return -EBADMSG;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = strlen(s);
		fputs(s, f);
		if (!len || s[len - 1] != '\n')
			fputc('\n', f);
		return 0;
	}
	char *s = cell(v, find_col(cmd, cmd->print_key));
	if (!s)
		return -ENOMEM;
	fprintf(f, "%s\n", s);
	free(s);
	return 0;
}

int mg_render(FILE *f, const struct mg_cmd *cmd, const json_t *result)
{
	int rc = 0;
	if (!result || json_is_null(result))
		return 0;
	if (cmd->print_key) {
		rc = render_bare(f, cmd, result);
	} else if (json_is_array(result)) {
		rc = render_table(f, cmd, result);
	} else if (json_is_object(result)) {
		render_object(f, cmd, result, 0, false);
	} else {
		char *s = cell(result, NULL);
		fprintf(f, "%s\n", s ? s : "?");
		free(s);
	}
	if (!rc && ferror(f))
		rc = -EIO;
	return rc;
}
