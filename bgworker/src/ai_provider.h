/*
 * ai_provider.h — the AI provider protocol: builds the HTTP request of one
 * text generation (OpenAI Chat Completions, or Gemini generateContent) and
 * classifies its answer.  Pure: no I/O, no global state; the dispatcher
 * core sends the request (struct adapter_request, adapter.h) and hands the
 * answer back (struct adapter_response).
 *
 * Memory: struct ai_provider and struct ai_message carry borrowed strings
 * (the configuration's and the job's).  ai_build_request writes into the
 * caller's request (url, method, header list, body), which the caller owns
 * and resets (curl_slist_free_all, buf_cleanup — the header list holds the
 * API key).  ai_parse_response fills a caller-owned struct ai_result whose
 * variants and raw_text are malloc'd and freed by ai_result_free.
 *
 * Secrets: the API key only ever goes into a request header, never into
 * the URL (URLs get logged) nor into ai_result.message, which also never
 * carries the prompt.
 */
#ifndef CAAS_AI_PROVIDER_H
#define CAAS_AI_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

#define AI_MAX_VARIANTS		5		/* variants kept from one answer */
#define AI_VARIANT_MAX		(64 * 1024)	/* bytes of one variant kept */
#define AI_RAW_TEXT_MAX		(256 * 1024)	/* bytes of raw_text kept */

enum ai_api { AI_API_OPENAI_CHAT, AI_API_GEMINI };

struct ai_provider {		/* one configured provider (borrowed strings) */
	const char	*name;		/* "openai", "gemini", compat.name */
	enum ai_api	 api;
	const char	*base_url;	/* no trailing slash needed; both accepted */
	const char	*api_key;	/* "" = none (compat) */
	const char	*model;
	bool		 json_schema;	/* OpenAI-style response_format json_schema */
	int		 max_output_tokens;
	double		 temperature;
};

struct ai_message { const char *role; const char *text; };	/* system|user|assistant */

/*
 * ai_build_request fills req (adapter.h's struct adapter_request; caller
 * owns and resets it):
 * OpenAI: POST {base}/chat/completions, Authorization: Bearer (omitted when
 * api_key is ""), messages, model, temperature, max_completion_tokens,
 * response_format json_schema {"variants": string[]} (strict) when
 * json_schema;
 * Gemini: POST {base}/models/{model}:generateContent, x-goog-api-key
 * header, systemInstruction from the system message, contents (assistant →
 * role "model"), generationConfig {temperature, maxOutputTokens,
 * candidateCount 1, responseMimeType application/json, responseSchema}.
 * Both send Content-Type: application/json.  idempotent = true.
 * Returns 0, or -1 with err set (never containing the key or the prompt).
 */
int	ai_build_request(const struct ai_provider *p, const struct ai_message *msgs,
	    size_t n, int variants, struct adapter_request *req, char *err,
	    size_t errlen);

enum ai_class { AI_OK, AI_RETRY, AI_FALLBACK };

struct ai_result {
	enum ai_class	 cls;
	long		 http_status;	/* 0 when no answer */
	char		 code[64];	/* rate_limit_exceeded, insufficient_quota, RESOURCE_EXHAUSTED,
					   server_error, timeout, network, malformed, truncated, blocked,
					   empty, bad_request, unauthorized, forbidden, not_found, ... */
	char		 message[256];	/* safe to log: never a key, never the prompt */
	int64_t		 retry_after_ms;	/* provider's hint, -1 = none */
	char		 model[128];	/* as the provider reported it (else the configured one) */
	long		 prompt_tokens, completion_tokens;	/* completion incl. reasoning/thoughts */
	char		**variants;	/* malloc'd array of malloc'd strings */
	size_t		 nvariants;
	char		*raw_text;	/* the assistant's text as returned (re-prompt history) */
};

/*
 * ai_parse_response classifies one answer (resp->status 0: no answer) and
 * reads usage, model, variants.  Never fails; safe on any bytes.  out is
 * owned by the caller: it is overwritten without freeing (call
 * ai_result_free first when re-using one that holds variants).
 */
void	ai_parse_response(const struct ai_provider *p,
	    const struct adapter_response *resp, int variants_wanted,
	    struct ai_result *out);
/* ai_result_free frees variants/raw_text, NULL-safe, re-usable after. */
void	ai_result_free(struct ai_result *r);
/* "1s" "6m0s" "41.724s" "250ms" "31s" "1h2m" → ms; -1 when bad. */
int64_t	ai_parse_duration_ms(const char *s);
/* ai_class_name: "ok", "retry", "fallback". */
const char *ai_class_name(enum ai_class);

#endif /* CAAS_AI_PROVIDER_H */
