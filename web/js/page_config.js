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

/** The footer's sentence about the image links, from config.json's `delivery`. */
export function describeDelivery(delivery) {
  const lifetime = delivery.ttlSeconds ? formatDuration(delivery.ttlSeconds) : 'a few minutes';
  if (delivery.mode === 'public') {
    return (
      'Image links are permanent: anyone who has a link can view that image (links cannot be guessed). ' +
      '"Copy HTML" gives a <picture> ready to paste into a web page.'
    );
  }
  if (delivery.mode === 'signed') {
    return (
      `Image links are signed for you and work for ${lifetime}. ` +
      'Open the page again for fresh links.'
    );
  }
  return `Image links are temporary: they stop working after ${lifetime}. Save the images you want to keep.`;
}

function formatDuration(seconds) {
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
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
