package dev.loupe.engine.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Learns a byte-level BPE vocabulary (the GPT-2 / Llama 3 family's scheme) from a corpus and writes it as a
 * Hugging Face {@code tokenizer.json}. Every byte has a token, so any text encodes and decodes exactly; merges
 * only make common character runs shorter. Loupe trains its own small base models with it, since nothing may
 * be downloaded.
 *
 * <p>
 * The words the merges are learned on are split with the same pattern the {@code ByteLevel} pre-tokenizer of
 * the written file applies, so what was learned is what gets used.
 */
public final class ByteLevelBpeTrainer {
    /** GPT-2's pre-tokenization pattern, which the ByteLevel pre-tokenizer with {@code use_regex} applies. */
    private static final Pattern WORDS = Pattern
            .compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    /** Byte value to the printable character that stands for it in the vocabulary (GPT-2's mapping). */
    private static final char[] BYTE_CHARS = byteChars();

    private ByteLevelBpeTrainer() {
    }

    /**
     * Learns merges until the vocabulary has {@code vocabSize} tokens (or no pair occurs twice) and writes the
     * tokenizer file. Token ids: the 256 byte tokens first, then merges in the order learned, then the special
     * tokens.
     *
     * @param specialTokens tokens that are never split, e.g. {@code <|im_start|>} or {@code <image>}
     */
    public static void train(Iterable<String> corpus, int vocabSize, List<String> specialTokens, Path tokenizerJson)
            throws IOException {
        if (vocabSize < 256 + specialTokens.size()) {
            throw new IllegalArgumentException(
                    "vocabSize must leave room for the 256 byte tokens and the special tokens");
        }
        Map<List<String>, Integer> words = new HashMap<>();
        for (String text : corpus) {
            Matcher word = WORDS.matcher(text);
            while (word.find()) {
                words.merge(symbols(word.group()), 1, Integer::sum);
            }
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (char c : BYTE_CHARS) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        List<String> merges = new ArrayList<>();
        int mergeBudget = vocabSize - 256 - specialTokens.size();
        while (merges.size() < mergeBudget) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
                List<String> symbols = word.getKey();
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    pairCounts.merge(symbols.get(i) + " " + symbols.get(i + 1), word.getValue(), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> pair : pairCounts.entrySet()) {
                // Ties go to the lexicographically smaller pair, so training is deterministic.
                if (pair.getValue() > bestCount
                        || (pair.getValue() == bestCount && best != null && pair.getKey().compareTo(best) < 0)) {
                    best = pair.getKey();
                    bestCount = pair.getValue();
                }
            }
            if (best == null) {
                break;
            }
            String[] parts = best.split(" ", 2);
            String merged = parts[0] + parts[1];
            merges.add(best);
            vocab.putIfAbsent(merged, vocab.size());
            Map<List<String>, Integer> rewritten = new HashMap<>();
            for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
                rewritten.merge(applyMerge(word.getKey(), parts[0], parts[1], merged), word.getValue(),
                        Integer::sum);
            }
            words = rewritten;
        }
        write(vocab, merges, specialTokens, tokenizerJson);
    }

    private static List<String> symbols(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        List<String> symbols = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            symbols.add(String.valueOf(BYTE_CHARS[b & 0xff]));
        }
        return symbols;
    }

    private static List<String> applyMerge(List<String> symbols, String left, String right, String merged) {
        List<String> result = new ArrayList<>(symbols.size());
        for (int i = 0; i < symbols.size(); i++) {
            if (i + 1 < symbols.size() && symbols.get(i).equals(left) && symbols.get(i + 1).equals(right)) {
                result.add(merged);
                i++;
            } else {
                result.add(symbols.get(i));
            }
        }
        return result;
    }

    private static void write(Map<String, Integer> vocab, List<String> merges, List<String> specialTokens,
            Path tokenizerJson) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        int nextId = vocab.size();
        for (String special : specialTokens) {
            added.addObject()
                    .put("id", nextId++)
                    .put("content", special)
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer")
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", true)
                .put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder")
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode mergesNode = model.putArray("merges");
        merges.forEach(mergesNode::add);

        Path temporary = Files.createTempFile(tokenizerJson.toAbsolutePath().getParent(), "tokenizer", ".tmp");
        json.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), root);
        Files.move(temporary, tokenizerJson, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the others are shifted to
     * code points from 256 up, so every token is printable text in the JSON file.
     */
    private static char[] byteChars() {
        char[] chars = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars[b] = printable ? (char) b : (char) (256 + shifted++);
        }
        return chars;
    }
}
