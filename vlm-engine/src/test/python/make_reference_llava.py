"""Writes a tiny random LLaVA checkpoint with transformers, and the logits transformers computes for fixed
inputs, so that Loupe's forward pass can be checked against the reference implementation
(dev.loupe.engine.model.ReferenceLogitsTest). Run where Python, torch and transformers are installed:

    python make_reference_llava.py OUT_DIR

It downloads nothing: the model is built from a config with random weights.
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

IMAGE_TOKEN = 250
vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                          image_size=32, patch_size=8, layer_norm_eps=1e-5, hidden_act="quick_gelu",
                          projection_dim=32)
text = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=10000.0,
                   max_position_embeddings=128, tie_word_embeddings=False, hidden_act="silu")
config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN,
                     projector_hidden_act="gelu", vision_feature_layer=-2, vision_feature_select_strategy="default",
                     image_seq_length=16)
model = LlavaForConditionalGeneration(config)
# Random weights of a realistic spread, so that every part of the network matters to the logits.
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() == 1 and ("norm" in name or "layrnorm" in name):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.08 * torch.randn_like(p))
model.eval()
model.save_pretrained(out, safe_serialization=True)

# Two rows with the image at different places; the second row is left-padded by 3 tokens.
g = torch.Generator().manual_seed(1)
pixels = torch.randn(2, 3, 32, 32, generator=g)
row0 = [1, 17, 33] + [IMAGE_TOKEN] * 16 + [40, 41, 42, 43, 44, 45]
row1 = [0, 0, 0, 1, 60, 61, 62, 63] + [IMAGE_TOKEN] * 16 + [70]
ids = torch.tensor([row0, row1])
mask = torch.tensor([[1] * len(row0), [0, 0, 0] + [1] * (len(row1) - 3)])
position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
with torch.no_grad():
    logits = model(input_ids=ids, pixel_values=pixels, attention_mask=mask, position_ids=position_ids).logits
save_file({"input_ids": ids.contiguous(), "attention_mask": mask.contiguous(), "pixel_values": pixels.contiguous(),
           "logits": logits.float().contiguous()}, os.path.join(out, "reference.safetensors"),
          metadata={"transformers": transformers.__version__, "torch": torch.__version__})
print("transformers", transformers.__version__, "torch", torch.__version__)
print("logits", tuple(logits.shape), "first", logits[0, -1, :4].tolist())
for name in sorted(os.listdir(out)):
    print(name, os.path.getsize(os.path.join(out, name)))
