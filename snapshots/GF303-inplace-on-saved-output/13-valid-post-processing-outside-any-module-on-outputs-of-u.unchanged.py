import torch


class DetectionPostProcessor:
    def suppress(self, outputs, overlaps, threshold):
        scores = torch.sigmoid(outputs.logits.max(dim=-1).values)
        for i in range(len(scores)):
            scores[i][overlaps[i] > threshold] = 0.0
        return scores
