package dev.loupe.dataset.imports;

import java.util.List;

/**
 * The structured annotations of a record (native format only; the other formats have none).
 *
 * @param boxes labelled bounding boxes
 * @param captions image captions
 * @param groundedQa question-answer pairs, each about one of the boxes
 */
public record Annotations(List<BoundingBox> boxes, List<Caption> captions, List<GroundedQa> groundedQa) {
    /** No annotations. */
    public static final Annotations NONE = new Annotations(List.of(), List.of(), List.of());

    public Annotations {
        boxes = List.copyOf(boxes);
        captions = List.copyOf(captions);
        groundedQa = List.copyOf(groundedQa);
        for (GroundedQa qa : groundedQa) {
            if (qa.box() >= boxes.size()) {
                throw new IllegalArgumentException("grounded QA points at box " + qa.box() + " of " + boxes.size());
            }
        }
    }

    public boolean isEmpty() {
        return boxes.isEmpty() && captions.isEmpty() && groundedQa.isEmpty();
    }
}
