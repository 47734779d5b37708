"""Writes a LoRA adapter with PEFT itself on the tiny reference LLaVA (src/test/resources/llava-reference, written by
make_reference_llava.py), and the logits transformers + PEFT compute with it for the reference's rows, so that
Loupe's PEFT reader and LoRA forward can be checked against the reference implementation
(dev.loupe.engine.model.ReferenceLoraTest). Run where Python, torch, transformers and peft are installed:

    python make_reference_lora.py REFERENCE_DIR OUT_DIR

It downloads nothing.
"""
import os
import sys

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import LlavaForConditionalGeneration

reference, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
torch.manual_seed(2)
model = LlavaForConditionalGeneration.from_pretrained(reference, torch_dtype=torch.float32)
config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none",
                    target_modules=r".*language_model.*\.(q_proj|v_proj|gate_proj|down_proj)")
model = get_peft_model(model, config)
# PEFT starts B at zero; random B makes the adapter change the logits, as a trained one does.
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.copy_(0.2 * torch.randn_like(p))
model.eval()
model.save_pretrained(out, safe_serialization=True)

inputs = load_file(os.path.join(reference, "reference.safetensors"))
ids, mask, pixels = inputs["input_ids"], inputs["attention_mask"], inputs["pixel_values"]
position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
with torch.no_grad():
    logits = model(input_ids=ids, pixel_values=pixels, attention_mask=mask, position_ids=position_ids).logits
save_file({"logits": logits.float().contiguous()}, os.path.join(out, "reference-lora.safetensors"),
          metadata={"transformers": transformers.__version__, "torch": torch.__version__, "peft": peft.__version__})
print("transformers", transformers.__version__, "torch", torch.__version__, "peft", peft.__version__)
print("logits", tuple(logits.shape), "first", logits[0, -1, :4].tolist())
for name in sorted(os.listdir(out)):
    print(name, os.path.getsize(os.path.join(out, name)))
