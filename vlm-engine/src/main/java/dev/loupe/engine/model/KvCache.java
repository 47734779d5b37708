package dev.loupe.engine.model;

import java.util.Arrays;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * The keys and values every decoder layer computed for the positions seen so far, and which of those positions
 * were tokens (not padding), so that a generation step computes only its new positions. The arrays live in the
 * manager of the step's inputs; close that manager when the generation ends.
 */
public final class KvCache {
    private final NDArray[] keys;
    private final NDArray[] values;
    private boolean[][] isToken;

    public KvCache(int layers) {
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Positions cached so far (the same for every row). */
    public int length() {
        return isToken == null ? 0 : isToken[0].length;
    }

    /** Which cached positions of row {@code b} are tokens. */
    boolean[] isToken(int b) {
        return isToken == null ? new boolean[0] : isToken[b];
    }

    NDArray keys(int layer) {
        return keys[layer];
    }

    NDArray values(int layer) {
        return values[layer];
    }

    /** Replaces a layer's arrays; the previous ones were copied into the new ones and are freed. */
    void set(int layer, NDArray layerKeys, NDArray layerValues) {
        if (keys[layer] != null && keys[layer] != layerKeys) {
            keys[layer].close();
        }
        if (values[layer] != null && values[layer] != layerValues) {
            values[layer].close();
        }
        keys[layer] = layerKeys;
        values[layer] = layerValues;
    }

    /** Moves the cached arrays into {@code manager}, so that they outlive the step that made them. */
    public void keepIn(ai.djl.ndarray.NDManager manager) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].attach(manager);
                values[i].attach(manager);
            }
        }
    }

    /** Rows cached (0 before the first step). */
    public int rows() {
        return isToken == null ? 0 : isToken.length;
    }

    /** Keeps only these rows, in this order (rows leaving a running batch). */
    public void keepRows(int[] rows) {
        if (isToken == null) {
            return;
        }
        boolean[][] kept = new boolean[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            kept[i] = isToken[rows[i]];
        }
        for (int layer = 0; layer < keys.length; layer++) {
            set(layer, rows.length == 0 ? null : selectRows(keys[layer], rows),
                    rows.length == 0 ? null : selectRows(values[layer], rows));
        }
        isToken = rows.length == 0 ? null : kept;
    }

    private static NDArray selectRows(NDArray array, int[] rows) {
        NDList picked = new NDList();
        for (int row : rows) {
            picked.add(array.get(new NDIndex("{}:{}", row, row + 1)));
        }
        NDArray joined = NDArrays.concat(picked, 0);
        picked.stream().filter(part -> part != joined).forEach(NDArray::close);
        return joined;
    }

    /**
     * Appends another cache's rows (rows joining a running batch). Both are aligned on their last position: the
     * shorter history gets positions on the left that are not tokens, which attention masks and positions skip.
     */
    public void appendRows(KvCache other) {
        if (other.isToken == null) {
            return;
        }
        if (isToken == null) {
            for (int layer = 0; layer < keys.length; layer++) {
                set(layer, other.keys[layer], other.values[layer]);
            }
            isToken = other.isToken;
            return;
        }
        int length = Math.max(length(), other.length());
        for (int layer = 0; layer < keys.length; layer++) {
            set(layer, joinRows(keys[layer], other.keys[layer], length),
                    joinRows(values[layer], other.values[layer], length));
        }
        boolean[][] joined = new boolean[isToken.length + other.isToken.length][];
        for (int b = 0; b < joined.length; b++) {
            boolean[] row = b < isToken.length ? isToken[b] : other.isToken[b - isToken.length];
            joined[b] = new boolean[length];
            System.arraycopy(row, 0, joined[b], length - row.length, row.length);
        }
        isToken = joined;
    }

    /** {@code [own; other]} along the rows, both padded on the left to {@code length}; frees {@code other}. */
    private static NDArray joinRows(NDArray own, NDArray other, int length) {
        NDArray ownPadded = padLeft(own, length);
        NDArray otherPadded = padLeft(other, length);
        NDArray joined = ownPadded.concat(otherPadded, 0);
        if (ownPadded != own) {
            ownPadded.close();
        }
        if (otherPadded != other) {
            otherPadded.close();
        }
        other.close();
        return joined;
    }

    /** {@code [B, K, S, D]} with positions added on the left up to {@code length}; the array itself if long enough. */
    private static NDArray padLeft(NDArray array, int length) {
        Shape shape = array.getShape();
        long missing = length - shape.get(2);
        if (missing == 0) {
            return array;
        }
        try (NDArray zeros = array.getManager()
                .zeros(new Shape(shape.get(0), shape.get(1), missing, shape.get(3)), array.getDataType())) {
            return zeros.concat(array, 2);
        }
    }

    /** Drops the leading positions at which no row has a token (left behind by rows that left). */
    public void trim() {
        if (isToken == null) {
            return;
        }
        int first = length();
        for (boolean[] row : isToken) {
            for (int t = 0; t < row.length; t++) {
                if (row[t]) {
                    first = Math.min(first, t);
                    break;
                }
            }
        }
        if (first == 0 || first == length()) {
            return;
        }
        for (int layer = 0; layer < keys.length; layer++) {
            NDIndex kept = new NDIndex(":, :, {}:, :", first);
            set(layer, keys[layer].get(kept), values[layer].get(kept));
        }
        for (int b = 0; b < isToken.length; b++) {
            isToken[b] = Arrays.copyOfRange(isToken[b], first, isToken[b].length);
        }
    }

    /** Records the flags of the positions a step added. */
    void append(boolean[][] added) {
        if (isToken == null) {
            isToken = added;
            return;
        }
        boolean[][] grown = new boolean[isToken.length][];
        for (int b = 0; b < isToken.length; b++) {
            grown[b] = new boolean[isToken[b].length + added[b].length];
            System.arraycopy(isToken[b], 0, grown[b], 0, isToken[b].length);
            System.arraycopy(added[b], 0, grown[b], isToken[b].length, added[b].length);
        }
        isToken = grown;
    }
}
