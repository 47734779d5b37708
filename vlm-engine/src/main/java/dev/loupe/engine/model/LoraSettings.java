package dev.loupe.engine.model;

import java.util.List;

/**
 * Where and how big the LoRA adapters are.
 *
 * @param rank r, the adapters' inner width
 * @param alpha the adapter's output is scaled by {@code alpha / rank}
 * @param dropout dropout on the adapters' input while training
 * @param targetModules last names of the linear layers that get adapters, e.g. {@code q_proj}, {@code v_proj},
 *        {@code gate_proj}
 * @param visionEncoder whether the vision tower's layers of those names get adapters too
 */
public record LoraSettings(int rank, double alpha, float dropout, List<String> targetModules, boolean visionEncoder) {

    public LoraSettings {
        if (rank < 1 || alpha <= 0 || dropout < 0 || dropout >= 1 || targetModules.isEmpty()) {
            throw new IllegalArgumentException(
                    "rank >= 1, alpha > 0, 0 <= dropout < 1 and target modules are required");
        }
        targetModules = List.copyOf(targetModules);
    }

    /** Whether a module (its Hugging Face name) gets an adapter. */
    public boolean targets(String module) {
        if (module.startsWith("multi_modal_projector.")) {
            return false;
        }
        if (!visionEncoder && module.startsWith("vision_tower.")) {
            return false;
        }
        return targetModules.contains(module.substring(module.lastIndexOf('.') + 1));
    }
}
