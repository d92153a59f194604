"""A minimal LangChain chat model over the OpenAI client, for when langchain-openai is not
installed: langchain-core alone still gives the demo a chain whose model call nests under its
chat run. Importing this module imports langchain_core."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

__all__ = ["OpenAIClientChatModel"]

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


class OpenAIClientChatModel(BaseChatModel):
    """Chat completions through `client` (an openai.OpenAI)."""

    client: Any
    model_name: str = "gpt-4o-mini"
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "openai-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # What LangChain reports as the run's invocation params (ls_model_name and friends).
        return {"model_name": self.model_name, "temperature": self.temperature}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        params["ls_model_name"] = self.model_name
        return params

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        request = [{"role": _ROLES.get(message.type, message.type), "content": message.content}
                   for message in messages]
        completion = self.client.chat.completions.create(model=self.model_name, messages=request,
                                                         temperature=self.temperature, stop=stop)
        message = AIMessage(content=completion.choices[0].message.content or "",
                            response_metadata={"model_name": completion.model,
                                               "finish_reason": completion.choices[0].finish_reason})
        return ChatResult(generations=[ChatGeneration(message=message)])
