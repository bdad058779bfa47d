/*
 * adapters/sandbox.c — the "sandbox" platform, for demos: it publishes
 * nothing anywhere.
 *
 * A sandbox post makes no HTTP request at all: prepare answers at once
 * with PUBLISHED, remote id "sandbox-{post_id}" and no URL, and the post
 * row in the database is the only record that it was "published".  It
 * exists so the product can be shown end to end without platform
 * accounts; the platform's name says so wherever it appears.
 *
 * Memory: nothing is allocated.
 */
#include <stdio.h>

#include "adapter.h"
#include "common.h"

static enum adapter_prepare
sandbox_prepare(const struct adapter_post *post, struct adapter_state *state,
    struct adapter_request *req, struct adapter_result *result)
{
	(void)state;
	(void)req;
	adapters_result_reset(result);
	if (snprintf(result->remote_id, sizeof(result->remote_id), "sandbox-%s",
	    post->post_id != NULL ? post->post_id : "") >=
	    (int)sizeof(result->remote_id))
		result->remote_id[sizeof(result->remote_id) - 1] = '\0';
	adapters_result_set(result, ADAPTER_PUBLISHED,
	    "recorded locally (sandbox: nothing was sent to any platform)");
	return (ADAPTER_DONE);
}

/* sandbox_classify is never reached: prepare never asks for a request. */
static void
sandbox_classify(const struct adapter_post *post, struct adapter_state *state,
    const struct adapter_response *resp, struct adapter_result *result)
{
	(void)post;
	(void)state;
	(void)resp;
	adapters_result_reset(result);
	adapters_result_set(result, ADAPTER_UNKNOWN,
	    "internal error: the sandbox sends no requests");
}

const struct caas_adapter adapter_sandbox = {
	.name = "sandbox",
	.settings = NULL,
	.prepare = sandbox_prepare,
	.classify = sandbox_classify,
	.refresh_prepare = NULL,
	.refresh_classify = NULL,
};
