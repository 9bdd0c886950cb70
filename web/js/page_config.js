// The page's settings: config.json (written by Terraform next to index.html), fetched,
// checked (validate.js) and turned into the texts that describe what may be uploaded.
import { describeVariants, formatBytes, listTypes, plural } from './format.js';
import { acceptList, ConfigError, parseConfig } from './validate.js';

/** Fetch and check ./config.json; every failure is a ConfigError with a sentence for the page. */
export async function loadConfig(fetchImpl = (...args) => fetch(...args)) {
  let response;
  try {
    response = await fetchImpl('./config.json', { cache: 'no-store' });
  } catch {
    throw new ConfigError(
      "The page's settings file (config.json) could not be downloaded. Check your connection and reload the page.",
    );
  }
  if (!response.ok) {
    throw new ConfigError(
      `The page's settings file (config.json) is missing (HTTP ${response.status}). The site may not be fully set up yet.`,
    );
  }
  let raw;
  try {
    raw = await response.json();
  } catch {
    throw new ConfigError("The page's settings file (config.json) is not valid JSON.");
  }
  return parseConfig(raw);
}

/** {accept, hint, intro}: the file input's accept list and the two sentences about limits. */
export function describeLimits(config) {
  const sizes = describeVariants(config.variants);
  return {
    accept: acceptList(config.allowedTypes),
    hint:
      `${listTypes(config.allowedTypes)} images, up to ${formatBytes(config.maxBytes)} each. ` +
      'You can choose several at once.',
    intro: sizes
      ? `Each image comes back in ${plural(config.variants.length, 'size')}: ${sizes}. Images are never made bigger than the original.`
      : 'Each image is checked and processed after upload.',
  };
}
