package dev.loupe.engine.text;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

/**
 * Turns conversations into token ids with Loupe's chat template, and ids back into text. The template is
 * ChatML:
 *
 * <pre>
 * &lt;|im_start|&gt;system\n{content}&lt;|im_end|&gt;\n
 * &lt;|im_start|&gt;user\n{content}&lt;|im_end|&gt;\n
 * &lt;|im_start|&gt;assistant\n{content}&lt;|im_end|&gt;\n
 * </pre>
 *
 * Each {@code <image>} in a content becomes {@code imageTokens} copies of the image token, whose embeddings the
 * model replaces by the image's projected features. A generation prompt ends with
 * {@code <|im_start|>assistant\n}. Pieces of text between special tokens are tokenized separately, so a
 * special token never merges with its neighbours.
 */
public final class ChatTokenizer implements AutoCloseable {
    public static final String IMAGE_PLACEHOLDER = "<image>";
    public static final String TURN_START = "<|im_start|>";
    public static final String TURN_END = "<|im_end|>";
    /** The special tokens a tokenizer for this template must have; trainers add them. */
    public static final List<String> SPECIAL_TOKENS = List.of(TURN_START, TURN_END, IMAGE_PLACEHOLDER, "<pad>");

    private final HuggingFaceTokenizer tokenizer;
    private final int imageTokens;
    private final long turnStart;
    private final long turnEnd;
    private final long image;
    private final long pad;

    private ChatTokenizer(HuggingFaceTokenizer tokenizer, int imageTokens) {
        this.tokenizer = tokenizer;
        this.imageTokens = imageTokens;
        this.turnStart = specialId(TURN_START);
        this.turnEnd = specialId(TURN_END);
        this.image = specialId(IMAGE_PLACEHOLDER);
        this.pad = specialId("<pad>");
    }

    /**
     * Loads a {@code tokenizer.json} from disk; nothing is downloaded.
     *
     * @param imageTokens tokens each image takes in the sequence (the vision encoder's patch count)
     */
    public static ChatTokenizer load(Path tokenizerJson, int imageTokens) throws IOException {
        if (imageTokens < 1) {
            throw new IllegalArgumentException("imageTokens must be at least 1");
        }
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson,
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        try {
            return new ChatTokenizer(tokenizer, imageTokens);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    public long imageTokenId() {
        return image;
    }

    public long padTokenId() {
        return pad;
    }

    public long turnEndTokenId() {
        return turnEnd;
    }

    public int imageTokensPerImage() {
        return imageTokens;
    }

    /**
     * Encodes a conversation.
     *
     * @param generationPrompt append {@code <|im_start|>assistant\n} for the model to continue from
     */
    public EncodedChat encode(List<ChatMessage> messages, boolean generationPrompt) {
        TokenBuffer out = new TokenBuffer();
        int images = 0;
        for (ChatMessage message : messages) {
            boolean trained = message.role() == ChatMessage.Role.assistant;
            out.add(turnStart, false);
            out.addAll(text(message.role().name() + "\n"), false);
            String[] pieces = message.content().split(java.util.regex.Pattern.quote(IMAGE_PLACEHOLDER), -1);
            for (int i = 0; i < pieces.length; i++) {
                if (i > 0) {
                    if (trained) {
                        throw new IllegalArgumentException("an assistant turn cannot hold an image");
                    }
                    for (int t = 0; t < imageTokens; t++) {
                        out.add(image, false);
                    }
                    images++;
                }
                out.addAll(text(pieces[i]), trained);
            }
            out.add(turnEnd, trained);
            out.addAll(text("\n"), false);
        }
        if (generationPrompt) {
            out.add(turnStart, false);
            out.addAll(text(ChatMessage.Role.assistant.name() + "\n"), false);
        }
        return new EncodedChat(out.ids(), out.trained(), images);
    }

    /** Token ids of plain text, with no special token recognised in it. */
    public long[] text(String text) {
        if (text.isEmpty()) {
            return new long[0];
        }
        Encoding encoding = tokenizer.encode(text, false, false);
        long[] ids = encoding.getIds();
        for (long id : ids) {
            if (id == turnStart || id == turnEnd || id == image || id == pad) {
                // Text that spells a special token must not smuggle structure into the sequence.
                throw new IllegalArgumentException("text contains a special token: " + text);
            }
        }
        return ids;
    }

    /** The text of generated tokens; special tokens are left out. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    private long specialId(String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        if (ids.length != 1) {
            throw new IllegalArgumentException("the tokenizer has no special token " + token);
        }
        return ids[0];
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /** A growing sequence of ids and their loss flags. */
    private static final class TokenBuffer {
        private long[] ids = new long[256];
        private boolean[] trained = new boolean[256];
        private int size;

        void add(long id, boolean isTrained) {
            if (size == ids.length) {
                ids = java.util.Arrays.copyOf(ids, size * 2);
                trained = java.util.Arrays.copyOf(trained, size * 2);
            }
            ids[size] = id;
            trained[size] = isTrained;
            size++;
        }

        void addAll(long[] more, boolean isTrained) {
            for (long id : more) {
                add(id, isTrained);
            }
        }

        long[] ids() {
            return java.util.Arrays.copyOf(ids, size);
        }

        boolean[] trained() {
            return java.util.Arrays.copyOf(trained, size);
        }
    }
}
