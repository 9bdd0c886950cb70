// How files reach the page: the big button (over the visually hidden file input), the input's
// "change", and files dropped anywhere on the page. It knows nothing of uploading: it hands the
// files to onFiles(files) while ready() says the page can take them.

function hasFiles(event) {
  return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types || []).includes('Files'));
}

/**
 * elements: {form, input, dropZone, dropZoneText}; doc: the document (drag and drop events).
 * ready(): the settings are loaded (before that a drop is refused and nothing is taken).
 */
export function wireChooser(elements, { doc, onFiles, ready }) {
  const { form, input, dropZone, dropZoneText } = elements;
  form.addEventListener('submit', (event) => event.preventDefault());
  input.addEventListener('change', () => {
    onFiles(input.files);
    input.value = ''; // choosing the same file again still fires "change"
  });
  dropZone.addEventListener('click', () => input.click());

  // Files dropped anywhere on the page are taken (instead of the browser opening them).
  let dragDepth = 0;
  const setDragging = (on) => {
    dropZone.classList.toggle('is-dragover', on);
    dropZoneText.textContent = on ? 'Drop the images to upload them' : 'Choose images';
  };
  doc.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    setDragging(true);
  });
  doc.addEventListener('dragleave', (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) setDragging(false);
  });
  doc.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = ready() && !dropZone.disabled ? 'copy' : 'none';
  });
  doc.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    setDragging(false);
    if (!dropZone.disabled) onFiles(event.dataTransfer.files);
  });
}

/** Enable or disable choosing files (disabled until the settings load, and while signed out). */
export function setChoosing(elements, enabled) {
  elements.input.disabled = !enabled;
  elements.dropZone.disabled = !enabled;
}
