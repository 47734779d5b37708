package dev.loupe.engine.generate.json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The bytes each token of a tokenizer stands for, and a trie over them, for {@link JsonConstraint}'s masks. Special
 * tokens (chat markers, the image token, padding) stand for no bytes: they never appear inside a document. Build
 * one per tokenizer and share it: it is immutable.
 */
public final class TokenVocabulary {
    private final byte[][] tokens;
    private final Node root;

    private TokenVocabulary(byte[][] tokens) {
        this.tokens = tokens;
        this.root = Node.trie(tokens);
    }

    /**
     * @param tokenBytes by token id, the bytes the token decodes to; null for a special token
     * @throws IllegalArgumentException unless every byte value has a token of its own: with one, some token can
     *         always continue a document, whatever its state
     */
    public static TokenVocabulary of(List<byte[]> tokenBytes) {
        byte[][] tokens = new byte[tokenBytes.size()][];
        boolean[] singleByte = new boolean[256];
        for (int id = 0; id < tokens.length; id++) {
            byte[] bytes = tokenBytes.get(id);
            if (bytes != null && bytes.length == 0) {
                throw new IllegalArgumentException("token " + id + " has no bytes; use null for a special token");
            }
            tokens[id] = bytes == null ? null : bytes.clone();
            if (bytes != null && bytes.length == 1) {
                singleByte[bytes[0] & 0xff] = true;
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!singleByte[b]) {
                throw new IllegalArgumentException("no token stands for the single byte " + b);
            }
        }
        return new TokenVocabulary(tokens);
    }

    /**
     * Reads the vocabulary of a Hugging Face {@code tokenizer.json} with a byte-level BPE model (GPT-2's scheme,
     * which {@code ByteLevelBpeTrainer} writes): each vocabulary entry spells its bytes with GPT-2's
     * byte-to-character table; added tokens marked special stand for no bytes, other added tokens for their UTF-8
     * text.
     */
    public static TokenVocabulary fromTokenizerJson(Path tokenizerJson) throws IOException {
        JsonNode root = new ObjectMapper().readTree(tokenizerJson.toFile());
        if (!"BPE".equals(root.path("model").path("type").asText())
                || !"ByteLevel".equals(root.path("decoder").path("type").asText())) {
            throw new IllegalArgumentException("not a byte-level BPE tokenizer: " + tokenizerJson.getFileName());
        }
        TreeMap<Integer, byte[]> byId = new TreeMap<>();
        int[] byteOfChar = byteOfChar();
        for (Iterator<Map.Entry<String, JsonNode>> entries = root.path("model").path("vocab").fields(); entries
                .hasNext();) {
            Map.Entry<String, JsonNode> entry = entries.next();
            String token = entry.getKey();
            byte[] bytes = new byte[token.length()];
            for (int i = 0; i < token.length(); i++) {
                char c = token.charAt(i);
                if (c >= byteOfChar.length || byteOfChar[c] < 0) {
                    throw new IllegalArgumentException("vocabulary entry " + token + " is not byte-level");
                }
                bytes[i] = (byte) byteOfChar[c];
            }
            byId.put(entry.getValue().asInt(), bytes);
        }
        for (JsonNode added : root.path("added_tokens")) {
            byte[] bytes = added.path("special").asBoolean()
                    ? null
                    : added.path("content").asText().getBytes(StandardCharsets.UTF_8);
            byId.put(added.path("id").asInt(), bytes);
        }
        int size = byId.isEmpty() ? 0 : byId.lastKey() + 1;
        List<byte[]> tokens = new ArrayList<>(size);
        for (int id = 0; id < size; id++) {
            tokens.add(byId.get(id));
        }
        return of(tokens);
    }

    /** Token ids run from 0 to {@code size() - 1}. */
    public int size() {
        return tokens.length;
    }

    /** The token's bytes, or null for a special token or an id outside the vocabulary. */
    byte[] bytes(long token) {
        return token >= 0 && token < tokens.length ? tokens[(int) token] : null;
    }

    Node root() {
        return root;
    }

    /**
     * GPT-2's table, inverted: printable Latin-1 bytes stand for themselves, the others for code points from 256
     * up in byte order. The same table as {@code ByteLevelBpeTrainer}'s and Hugging Face's {@code bytes_to_unicode}.
     */
    private static int[] byteOfChar() {
        int[] byteOfChar = new int[512];
        Arrays.fill(byteOfChar, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            byteOfChar[printable ? b : 256 + shifted++] = b;
        }
        return byteOfChar;
    }

    /**
     * A node of the trie over the tokens' bytes: the tokens whose bytes end here, and one child per next byte, so
     * that the tokens sharing a prefix are checked against a state once for all.
     */
    static final class Node {
        final byte[] labels;
        final Node[] children;
        final int[] tokens;

        private Node(byte[] labels, Node[] children, int[] tokens) {
            this.labels = labels;
            this.children = children;
            this.tokens = tokens;
        }

        static Node trie(byte[][] tokens) {
            Builder root = new Builder();
            for (int id = 0; id < tokens.length; id++) {
                if (tokens[id] != null) {
                    Builder node = root;
                    for (byte b : tokens[id]) {
                        node = node.children.computeIfAbsent(b & 0xff, key -> new Builder());
                    }
                    node.tokens.add(id);
                }
            }
            return root.build();
        }

        private static final class Builder {
            final TreeMap<Integer, Builder> children = new TreeMap<>();
            final List<Integer> tokens = new ArrayList<>();

            Node build() {
                byte[] labels = new byte[children.size()];
                Node[] built = new Node[children.size()];
                int i = 0;
                for (Map.Entry<Integer, Builder> child : children.entrySet()) {
                    labels[i] = (byte) (int) child.getKey();
                    built[i++] = child.getValue().build();
                }
                return new Node(labels, built, tokens.stream().mapToInt(Integer::intValue).toArray());
            }
        }
    }
}
