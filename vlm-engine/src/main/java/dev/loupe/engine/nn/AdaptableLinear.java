package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.PairList;

/**
 * A linear layer {@code x W^T + b} that can carry a LoRA adapter: {@code + (alpha / r) dropout(x) A^T B^T}, with
 * {@code A [r, in]} random and {@code B [out, r]} zero at the start, so that an adapter begins as exactly the base
 * layer. With an adapter, {@code W} and {@code b} are frozen.
 *
 * <p>
 * Input {@code [..., in]}; output {@code [..., out]}. Parameters {@code weight [out, in]}, {@code bias [out]} (if
 * any), and with an adapter {@code lora_A}, {@code lora_B}.
 */
public final class AdaptableLinear extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int units;
    private final Parameter weight;
    private final Parameter bias;
    private Parameter loraA;
    private Parameter loraB;
    private double scaling;
    private float dropout;
    private ServedAdapter served;

    /**
     * Adapter weights that are not parameters of this layer: one of several adapters served on one base, put in
     * place before each batch of its requests. {@code a} is {@code A^T [in, r]}, {@code b} is {@code B^T [r, out]}.
     */
    public record ServedAdapter(NDArray a, NDArray b, double scaling) {
    }

    public AdaptableLinear(int units, boolean withBias) {
        super(VERSION);
        this.units = units;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optInitializer(new XavierInitializer())
                .build());
        this.bias = withBias
                ? addParameter(Parameter.builder().setName("bias").setType(Parameter.Type.BIAS).build())
                : null;
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        long in = inputShapes[0].get(inputShapes[0].dimension() - 1);
        weight.setShape(new Shape(units, in));
        if (bias != null) {
            bias.setShape(new Shape(units));
        }
    }

    /** Whether this layer carries an adapter. */
    public boolean hasAdapter() {
        return loraA != null;
    }

    /**
     * Adds an adapter to an initialised layer and freezes the base weights.
     *
     * @param dropout probability of dropping an input of the adapter path while training
     */
    public void addAdapter(NDManager manager, int rank, double alpha, float dropoutRate) {
        if (hasAdapter()) {
            throw new IllegalStateException("this layer already carries an adapter");
        }
        long in = weight.getArray().getShape().get(1);
        loraA = addParameter(Parameter.builder()
                .setName("lora_A")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(rank, in))
                .optInitializer(new NormalInitializer((float) (1 / Math.sqrt(in))))
                .build());
        loraB = addParameter(Parameter.builder()
                .setName("lora_B")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(units, rank))
                .optInitializer(ai.djl.training.initializer.Initializer.ZEROS)
                .build());
        DataType type = weight.getArray().getDataType();
        loraA.initialize(manager, type);
        loraB.initialize(manager, type);
        scaling = alpha / rank;
        this.dropout = dropoutRate;
        weight.freeze(true);
        if (bias != null) {
            bias.freeze(true);
        }
    }

    public Parameter loraA() {
        return loraA;
    }

    public Parameter loraB() {
        return loraB;
    }

    /**
     * Runs the layer with these adapter weights (or, with null, as the base layer) until told otherwise. Only for
     * inference, and only on a layer without a trainable adapter; the caller runs one batch at a time per model.
     */
    public void serve(ServedAdapter adapter) {
        if (adapter != null && hasAdapter()) {
            throw new IllegalStateException("this layer carries a trainable adapter");
        }
        this.served = adapter;
    }

    /** Adds {@code (alpha / r) B A} to the base weight and removes the adapter, leaving a plain linear layer. */
    public void mergeAdapter() {
        if (!hasAdapter()) {
            return;
        }
        NDArray base = weight.getArray();
        // The product, the scalar and the delta would otherwise stay in the model's manager for its lifetime.
        try (NDScope scope = new NDScope()) {
            base.addi(loraB.getArray().matMul(loraA.getArray()).mul(Scalars.of(base, scaling)));
        }
        parameters.remove(loraA.getName());
        parameters.remove(loraB.getName());
        loraA.close();
        loraB.close();
        loraA = null;
        loraB = null;
        weight.freeze(false);
        if (bias != null) {
            bias.freeze(false);
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        // The transposes are new arrays made from parameters: they would land in the model's manager and outlive
        // the pass (see Placement). Every other array here is made from x and lands in x's manager anyway.
        NDArray out = x.matMul(Placement.transposed(parameterStore.getValue(weight, x.getDevice(), training), x));
        if (bias != null) {
            out = out.add(parameterStore.getValue(bias, x.getDevice(), training));
        }
        if (hasAdapter()) {
            boolean dropping = training && dropout > 0;
            NDArray adapterIn = dropping ? x.mul(keepMask(x)) : x;
            NDArray a = Placement.transposed(parameterStore.getValue(loraA, x.getDevice(), training), x);
            NDArray b = Placement.transposed(parameterStore.getValue(loraB, x.getDevice(), training), x);
            // Inverted dropout's 1 / (1 - p) joins alpha / r, and both apply at rank r, the narrowest point of the
            // path, rather than over the whole input or output.
            double factor = dropping ? scaling / (1 - dropout) : scaling;
            out = out.add(adapterIn.matMul(a).mul(Scalars.of(x, factor)).matMul(b));
        } else if (served != null) {
            out = out.add(x.matMul(served.a()).mul(Scalars.of(x, served.scaling())).matMul(served.b()));
        }
        return new NDList(out);
    }

    /**
     * Dropout's mask for {@code x}: 1 where an input is kept (probability {@code 1 - p}), else 0; no gradient. Drawn
     * from uniform numbers: on this platform's CPUs libtorch's own dropout (a Bernoulli draw per element) took three
     * to four times as long, and the masks are most of the cost of a LoRA step.
     */
    private NDArray keepMask(NDArray x) {
        return x.getManager()
                .randomUniform(0, 1, x.getShape(), x.getDataType())
                .gte(Scalars.of(x, dropout))
                .toType(x.getDataType(), false);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[]{in.slice(0, in.dimension() - 1).add(units)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        // No children: the parameters are this block's own.
    }
}
