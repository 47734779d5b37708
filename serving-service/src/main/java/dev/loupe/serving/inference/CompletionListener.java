package dev.loupe.serving.inference;

/** Hears a completion's text as it becomes final (streaming); called on the base model's generation thread. */
@FunctionalInterface
public interface CompletionListener {
    CompletionListener NONE = delta -> {
    };

    void onText(String delta);
}
