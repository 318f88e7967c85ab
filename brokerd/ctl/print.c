// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl's one way of printing an answer: a jansson value, printed by
 * ctl_emit() either as JSON (-o json) or, as a view says, as "key: value"
 * lines and a table of its rows.
 *
 * May call: the C library, jansson.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerctl.h"

/* A value as table text, malloc'ed: "-" for null or missing. */
char *ctl_format_value(json_t *v)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	const char *key;
	json_t *item;
	size_t i;

	if (!f)
		return NULL;
	switch (json_typeof(v ? v : json_null())) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_NULL:
		fputs("-", f);
		break;
	case JSON_OBJECT:
		i = 0;
		json_object_foreach(v, key, item) {
			char *t = ctl_format_value(item);

			fprintf(f, "%s%s=%s", i++ ? "," : "", key, t ? t : "");
			free(t);
		}
		if (!i)
			fputs("-", f);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, item) {
			char *t = ctl_format_value(item);

			fprintf(f, "%s%s", i ? "," : "", t ? t : "");
			free(t);
		}
		if (!json_array_size(v))
			fputs("-", f);
		break;
	}
	fclose(f);
	return s;
}

static void print_cell(const char *text, size_t width, bool last)
{
	if (last)
		printf("%s\n", text ? text : "");
	else
		printf("%-*s  ", (int)width, text ? text : "");
}

void ctl_print_table(json_t *rows, const struct ctl_column *cols)
{
	size_t ncol = 0, nrow = json_array_size(rows);
	size_t *width;
	char **cell;

	while (cols[ncol].header)
		ncol++;
	width = calloc(ncol, sizeof(*width));
	cell = calloc(ncol * (nrow + 1), sizeof(*cell));
	if (!width || !cell)
		goto out;
	for (size_t c = 0; c < ncol; c++) {
		width[c] = strlen(cols[c].header);
		for (size_t r = 0; r < nrow; r++) {
			json_t *row = json_array_get(rows, r);
			char **p = &cell[r * ncol + c];

			*p = ctl_format_value(json_object_get(row, cols[c].key));
			if (*p && strlen(*p) > width[c])
				width[c] = strlen(*p);
		}
	}
	for (size_t c = 0; c < ncol; c++)
		print_cell(cols[c].header, width[c], c + 1 == ncol);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++)
			print_cell(cell[r * ncol + c], width[c], c + 1 == ncol);
out:
	if (cell)
		for (size_t i = 0; i < ncol * nrow; i++)
			free(cell[i]);
	free(cell);
	free(width);
}

/* Every key of an object as "key: value", in its order. */
static void print_fields(json_t *doc, const char *const *fields)
{
	const char *key;
	json_t *v;

	if (fields) {
		for (; *fields; fields++) {
			char *t = ctl_format_value(json_object_get(doc, *fields));

			printf("%s: %s\n", *fields, t ? t : "");
			free(t);
		}
		return;
	}
	json_object_foreach(doc, key, v) {
		char *t = ctl_format_value(v);

		printf("%s: %s\n", key, t ? t : "");
		free(t);
	}
}

/* The one printing call: @doc as JSON with -o json, else as @v says. */
void ctl_emit(const struct ctl *ctl, json_t *doc, const struct ctl_view *v)
{
	json_t *rows = NULL;

	if (ctl->json) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	if (json_is_array(doc)) {
		rows = json_incref(doc);
	} else {
		if (v->fields || (!v->rows && !v->derive))
			print_fields(doc, v->fields);
		if (v->derive)
			rows = v->derive(doc);
		else if (v->rows)
			rows = json_incref(json_object_get(doc, v->rows));
	}
	if (rows && v->cols) {
		if (v->fields)
			putchar('\n');
		ctl_print_table(rows, v->cols);
	}
	if (v->notes) {
		json_t *u, *item;
		size_t i;

		u = json_object_get(doc, "unapplied");
		json_array_foreach(u, i, item)
			printf("unapplied %s: %s\n",
			       json_string_value(json_object_get(item, "kind")) ?:
			       "-", json_string_value(json_object_get(item,
							"reason")) ?: "");
	}
	if (v->after)
		v->after(doc);
	json_decref(rows);
}

const struct ctl_view ctl_plain_view = { 0 };
